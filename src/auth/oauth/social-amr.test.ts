/**
 * What a social-login session's tokens say of how the user signed in (RFC 8176 `amr`). Bastion saw
 * no password, so they never say `pwd` (they did before migration 0019, so a relying service
 * asking for a password step-up was told one had happened): `["fed"]`, and `["fed", "mfa"]` once a
 * second factor was passed, Bastion's own TOTP step or one the provider reported and the operator
 * accepts. The challenge token carries what the first step was, signed, so it cannot be rewritten.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser } from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { uniqueEmail } from '../../../test/support/auth.js';
import { enrolTotp, freshCode, SETUP_TIMEOUT_MS } from '../../../test/support/mfa.js';
import { Browser, startRogueIssuer } from '../../../test/support/social.js';
import {
  accessToken,
  clientFor,
  expectSignedIn,
  PUBLIC,
  providerEnv,
  signIn,
} from '../../../test/support/social-app.js';
import { manualClock } from '../../platform/clock.js';

const sub = () => `sub-${randomBytes(6).toString('hex')}`;
const amrOf = (token: string) => decodeJwt(token).amr;

describe('amr of social-login sessions (migration 0019)', () => {
  const clock = manualClock();
  let trusted: Awaited<ReturnType<typeof startRogueIssuer>>;
  let plain: Awaited<ReturnType<typeof startRogueIssuer>>;
  let ctx: TestContext;
  const browser = () => new Browser((url) => (url.origin === PUBLIC ? ctx.app : undefined));

  beforeAll(async () => {
    trusted = await startRogueIssuer(clientFor('trusted'));
    plain = await startRogueIssuer(clientFor('plain'));
    ctx = await createTestApp({
      env: {
        ...providerEnv('trusted', trusted.issuer),
        OAUTH_TRUSTED_MFA_AMR: 'mfa',
        ...providerEnv('plain', plain.issuer),
      },
      deps: { clock },
    });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    await trusted?.close();
    await plain?.close();
  });

  /** Signs a new person up through `plain` and returns the session's access token. */
  async function socialAccount(person: { sub: string; email: string }) {
    plain.as({ ...person, email_verified: true });
    const b = browser();
    expectSignedIn((await signIn(b, 'plain')).page);
    return accessToken(ctx.app, b);
  }

  it('a provider login says fed, not pwd, and its refreshed tokens keep saying it', async () => {
    const token = await socialAccount({ sub: sub(), email: uniqueEmail('fed') });
    expect(amrOf(token)).toEqual(['fed']);
    const row = await ctx.database.db
      .selectFrom('sessions')
      .select('first_factor')
      .where('id', '=', decodeJwt(token).sid as string)
      .executeTakeFirstOrThrow();
    expect(row.first_factor).toBe('fed');
  });

  it("after Bastion's second step it says fed and mfa, and a rewritten challenge is refused", async () => {
    const person = { sub: sub(), email: uniqueEmail('fedotp') };
    const { secret } = await enrolTotp(ctx.app, await socialAccount(person), clock);

    plain.as({ ...person, email_verified: true });
    const b = browser();
    const { page } = await signIn(b, 'plain');
    expect(page.status).toBe(302);
    const mfaToken = decodeURIComponent(/#mfaToken=(.+)$/.exec(page.location ?? '')?.[1] ?? '');
    const cookie = `bastion_mfa=${b.cookie(PUBLIC, 'bastion_mfa')}`;
    const second = (token: string) =>
      ctx.app.inject({
        method: 'POST',
        url: '/auth/login/mfa',
        headers: { cookie },
        payload: { mfaToken: token, code: freshCode(secret, clock) },
      });

    // The first step's claim is signed: saying `pwd` instead of `fed` breaks the signature.
    const [header, payload, signature] = mfaToken.split('.');
    const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString());
    expect(claims.ff).toBe('fed');
    const rewritten = Buffer.from(JSON.stringify({ ...claims, ff: 'pwd' })).toString('base64url');
    const forged = await second(`${header}.${rewritten}.${signature}`);
    expect(forged.statusCode).toBe(401);
    expect(forged.json().code).toBe('invalid_mfa_token');

    const done = await second(mfaToken);
    expect(done.statusCode).toBe(200);
    expect(amrOf(done.json().accessToken)).toEqual(['fed', 'mfa']);
  });

  it('a second factor the provider reported and the operator accepts: fed and mfa', async () => {
    const local = await insertUser(ctx.database.db, {
      email: uniqueEmail('fedmfa'),
      passwordHash: 'x',
      mfaEnabled: true,
    });
    trusted.as({ sub: sub(), email: local.email, email_verified: true, amr: ['pwd', 'mfa'] });
    const b = browser();
    expectSignedIn((await signIn(b, 'trusted')).page);
    expect(amrOf(await accessToken(ctx.app, b))).toEqual(['fed', 'mfa']);
  });
});
