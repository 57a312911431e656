/**
 * Informational items of issue 14 on MFA: removing MFA must not leave tokens that passed MFA
 * (`amr: otp`) holding admin powers until they expire, and TOTP confirm must turn on exactly the
 * pending secret its code was checked against, not one a racing second setup put there.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser } from '../../../test/support/accounts.js';
import { createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, uniqueEmail } from '../../../test/support/auth.js';
import { freshCode, SETUP_TIMEOUT_MS } from '../../../test/support/mfa.js';
import { manualClock } from '../../platform/clock.js';
import { activateTotp, readTotpState, setPendingSecret } from './mfa.store.js';

const clock = manualClock();
let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestApp({ deps: { clock } });
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

describe('removing MFA', () => {
  it('an admin token minted with MFA is refused on /admin right after DELETE /auth/mfa/totp', async () => {
    const admin = await createAdmin(ctx.app, ctx.database.db, clock);
    const adminList = () =>
      ctx.app.inject({ method: 'GET', url: '/admin/users', headers: bearer(admin.accessToken) });
    expect((await adminList()).statusCode).toBe(200);

    const removed = await ctx.app.inject({
      method: 'DELETE',
      url: '/auth/mfa/totp',
      headers: bearer(admin.accessToken),
      payload: { code: freshCode(admin.totpSecret, clock) },
    });
    expect(removed.statusCode, removed.body).toBe(204);

    // Same token, well inside its 15 minutes: no admin powers left.
    const after = await adminList();
    expect(after.statusCode).toBe(401);
    // Nor can its session mint a new token that still says `otp`.
    const refreshed = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken },
    });
    expect(refreshed.statusCode).toBe(401);
  });
});

describe('TOTP confirm activates only the verified pending secret', () => {
  it('a stale pending secret (a second setup raced the confirm) is not activated', async () => {
    const db = ctx.database.db;
    const user = await insertUser(db, { email: uniqueEmail('race'), passwordHash: 'x' });
    const verified = randomBytes(24).toString('base64');
    const raced = randomBytes(24).toString('base64');
    // The confirm checked its code against `verified`; meanwhile a second setup stored `raced`.
    await setPendingSecret(db, user.id, verified);
    await setPendingSecret(db, user.id, raced);
    const activated = await db
      .transaction()
      .execute((trx) => activateTotp(trx, user.id, verified, ['h1', 'h2'], new Date(clock.now())));
    expect(activated).toBe(false);
    const state = await readTotpState(db, user.id);
    expect(state?.mfa_enabled).toBe(false);
    expect(state?.totp_secret_sealed).toBeNull();
    expect(state?.totp_pending_sealed).toBe(raced);
    const codes = await db
      .selectFrom('mfa_recovery_codes')
      .select('code_hash')
      .where('user_id', '=', user.id)
      .execute();
    expect(codes).toEqual([]);

    // The verified one, still pending, is activated.
    await setPendingSecret(db, user.id, verified);
    expect(
      await db
        .transaction()
        .execute((trx) => activateTotp(trx, user.id, verified, ['h3'], new Date(clock.now()))),
    ).toBe(true);
    const on = await readTotpState(db, user.id);
    expect(on?.mfa_enabled).toBe(true);
    expect(on?.totp_secret_sealed).toBe(verified);
  });
});
