/**
 * Security-relevant account changes are audited (issues 6 and 8): verification, password change
 * and reset, logout everywhere, MFA on and off, recovery codes regenerated and used. Removing
 * MFA also downgrades the account's live sessions: their next token has no `otp` (issue 8).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountTestEnv, linkToken, waitForAccountMail } from '../../../test/support/accounts.js';
import { createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, login, registerAndVerify, STRONG_PASSWORD } from '../../../test/support/auth.js';
import { enrolTotp, freshCode, loginWithMfa, SETUP_TIMEOUT_MS } from '../../../test/support/mfa.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { refresh, rotated } from '../../../test/support/tokens.js';
import { manualClock } from '../clock.js';

let ctx: TestContext;
let smtp: TestSmtp;
const clock = manualClock();
const NEW_PASSWORD = 'quiet-harbour-lamps-glow-at-7-dusk';

beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: accountTestEnv(smtp), deps: { clock } });
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

async function trail(userId: string) {
  return ctx.database.db
    .selectFrom('audit_log')
    .select(['action', 'actor_id', 'target_id', 'ip'])
    .where('target_id', '=', userId)
    .orderBy('seq')
    .execute();
}

function claims(token: string): { amr: string[] } {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
}

describe('account changes leave an audit trail', () => {
  it('verify, change password, reset password, logout everywhere', async () => {
    const { email, userId } = await registerAndVerify(ctx.app, smtp);
    const session = await login(ctx.app, email, STRONG_PASSWORD);
    const change = await ctx.app.inject({
      method: 'POST',
      url: '/auth/password/change',
      headers: bearer(session.accessToken),
      payload: { currentPassword: STRONG_PASSWORD, newPassword: NEW_PASSWORD },
    });
    expect(change.statusCode, change.body).toBe(204);
    await ctx.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } });
    const token = linkToken(await waitForAccountMail(smtp, email, 'reset'), 'reset');
    const reset = await ctx.app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token, newPassword: STRONG_PASSWORD },
    });
    expect(reset.statusCode, reset.body).toBe(204);
    const again = await login(ctx.app, email, STRONG_PASSWORD);
    const all = await ctx.app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(again.accessToken),
    });
    expect(all.statusCode).toBe(204);

    const entries = await trail(userId);
    expect(entries.map((e) => e.action)).toEqual([
      'account.email_verified',
      'account.password_changed',
      'account.password_reset',
      'account.sessions_revoked',
    ]);
    for (const e of entries) {
      expect(e.actor_id).toBe(userId);
      expect(e.ip).toBe('127.0.0.1');
    }
    // No secret or PII lands in the log.
    const raw = JSON.stringify(
      await ctx.database.db
        .selectFrom('audit_log')
        .selectAll()
        .where('target_id', '=', userId)
        .execute(),
    );
    for (const secret of [email, STRONG_PASSWORD, NEW_PASSWORD, token])
      expect(raw).not.toContain(secret);
  });

  it('MFA on, recovery codes regenerated and used, MFA off; the chain stays intact', async () => {
    const admin = await createAdmin(ctx.app, ctx.database.db, clock);
    const { email, userId } = await registerAndVerify(ctx.app, smtp);
    const first = await login(ctx.app, email, STRONG_PASSWORD);
    const { secret } = await enrolTotp(ctx.app, first.accessToken, clock);
    const mfaSession = await loginWithMfa(
      ctx.app,
      email,
      STRONG_PASSWORD,
      freshCode(secret, clock),
    );
    const regen = await ctx.app.inject({
      method: 'POST',
      url: '/auth/mfa/recovery-codes',
      headers: bearer(mfaSession.accessToken),
      payload: { code: freshCode(secret, clock) },
    });
    expect(regen.statusCode, regen.body).toBe(200);
    const recovery = regen.json().recoveryCodes[0] as string;
    const viaRecovery = await loginWithMfa(ctx.app, email, STRONG_PASSWORD, recovery);
    const off = await ctx.app.inject({
      method: 'DELETE',
      url: '/auth/mfa/totp',
      headers: bearer(viaRecovery.accessToken),
      payload: { code: freshCode(secret, clock) },
    });
    expect(off.statusCode, off.body).toBe(204);
    expect((await trail(userId)).map((e) => e.action)).toEqual([
      'account.email_verified',
      'account.mfa_enabled',
      'account.recovery_codes_regenerated',
      'account.recovery_code_used',
      'account.mfa_disabled',
    ]);
    const verify = await ctx.app.inject({ url: '/admin/audit/verify', headers: admin.headers });
    expect(verify.json()).toMatchObject({ intact: true, firstBrokenId: null });
  });
});

describe('removing MFA ends live sessions (issue 8, issue 14)', () => {
  it("an admin's MFA session ends when MFA is removed; the next login has no `otp` and no /admin", async () => {
    const admin = await createAdmin(ctx.app, ctx.database.db, clock);
    expect(claims(admin.accessToken).amr).toContain('otp');
    const before = rotated(await refresh(ctx.app, admin.cookie, admin.csrfToken));
    expect(claims(before.accessToken).amr).toContain('otp');
    const off = await ctx.app.inject({
      method: 'DELETE',
      url: '/auth/mfa/totp',
      headers: admin.headers,
      payload: { code: freshCode(admin.totpSecret, clock) },
    });
    expect(off.statusCode, off.body).toBe(204);
    // No token of the MFA session lives on (issue 14): neither the access token nor a refresh.
    const stale = await ctx.app.inject({
      url: '/admin/users',
      headers: bearer(before.accessToken),
    });
    expect(stale.statusCode).toBe(401);
    expect((await refresh(ctx.app, before.cookie, before.csrfToken)).statusCode).toBe(401);
    const after = await login(ctx.app, admin.email, STRONG_PASSWORD);
    expect(claims(after.accessToken).amr).toEqual(['pwd']);
    const denied = await ctx.app.inject({
      url: '/admin/users',
      headers: bearer(after.accessToken),
    });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('mfa_enrollment_required');
  });
});
