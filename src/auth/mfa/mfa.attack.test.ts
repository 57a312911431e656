/**
 * Attacks on TOTP MFA (issue 8; checklist MFA-01..MFA-08): replayed and stale codes, worn-out,
 * expired, foreign, forged and reused mfaTokens, an mfaToken replayed without the cookie of its
 * login or after a password reset or MFA removal, an mfaToken presented as an access token,
 * reused recovery codes, MFA changes without step-up or without their audit entry, an
 * administrator without MFA on every admin route, code brute force across challenges, and a
 * reader of the database looking for secrets. The app runs on a manual clock: every code is
 * `codeAt(secret, clock.now())`.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkToken, waitForAccountMail } from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { withFailingAudit } from '../../../test/support/audit.js';
import {
  bearer,
  cookieHeader,
  type LoggedIn,
  login,
  registerAndVerify,
  signUp,
} from '../../../test/support/auth.js';
import {
  type Enrolled,
  enrolTotp,
  freshCode,
  loginWithMfa,
  type MfaChallenge,
  MINUTE_MS,
  postMfaCode,
  SETUP_TIMEOUT_MS,
  STEP_MS,
  startMfaLogin,
  wrongCode,
} from '../../../test/support/mfa.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { manualClock } from '../../platform/clock.js';
import { deriveKey, unseal } from '../../platform/crypto.js';
import { codeAt } from './totp.js';

const clock = manualClock();
let smtp: TestSmtp;
let ctx: TestContext;

beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: { SMTP_URL: smtp.url }, deps: { clock } });
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

interface MfaUser extends Enrolled {
  /** The password-only session the user enrolled with. */
  readonly enrolSession: LoggedIn;
  readonly email: string;
  readonly password: string;
  readonly userId: string;
}

/** A verified user with TOTP on; each test takes its own so code budgets do not mix. */
async function mfaUser(): Promise<MfaUser> {
  const session = await signUp(ctx.app, smtp);
  const enrolled = await enrolTotp(ctx.app, session.accessToken, clock);
  return { ...enrolled, enrolSession: session, ...session };
}

function me(accessToken: string) {
  return ctx.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(accessToken) });
}

function removeMfa(accessToken: string, code: string) {
  return ctx.app.inject({
    method: 'DELETE',
    url: '/auth/mfa/totp',
    headers: bearer(accessToken),
    payload: { code },
  });
}

function regenerate(accessToken: string, code: string) {
  return ctx.app.inject({
    method: 'POST',
    url: '/auth/mfa/recovery-codes',
    headers: bearer(accessToken),
    payload: { code },
  });
}

function expectProblem(res: { statusCode: number; json(): unknown }, status: number, code: string) {
  expect({ status: res.statusCode, code: (res.json() as { code?: string }).code }).toEqual({
    status,
    code,
  });
}

describe('TOTP codes', () => {
  it('a replayed code is refused, even within its 30 s window (MFA-04)', async () => {
    const user = await mfaUser();
    const code = freshCode(user.secret, clock);
    const first = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      code,
    );
    expect(first.statusCode).toBe(200);
    // Same instant, same code, a new challenge.
    const replay = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      code,
    );
    expectProblem(replay, 401, 'invalid_mfa_code');
    // Ten seconds later, still inside the step.
    clock.advance(10_000);
    const later = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      code,
    );
    expectProblem(later, 401, 'invalid_mfa_code');
  });

  it('the code used to confirm enrolment cannot log in', async () => {
    const user = await mfaUser();
    const mfaToken = await startMfaLogin(ctx.app, user.email, user.password);
    const res = await postMfaCode(ctx.app, mfaToken, codeAt(user.secret, clock.now()));
    expectProblem(res, 401, 'invalid_mfa_code');
  });

  it('a concurrent double use of one code logs in once', async () => {
    const user = await mfaUser();
    const code = freshCode(user.secret, clock);
    const tokens = await Promise.all([
      startMfaLogin(ctx.app, user.email, user.password),
      startMfaLogin(ctx.app, user.email, user.password),
    ]);
    const results = await Promise.all(tokens.map((t) => postMfaCode(ctx.app, t, code)));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
    expect(results.find((r) => r.statusCode === 401)?.json().code).toBe('invalid_mfa_code');
  });

  it('a code older than the last accepted one is refused, though inside the window', async () => {
    const user = await mfaUser();
    clock.advance(2 * STEP_MS);
    const previous = codeAt(user.secret, clock.now() - STEP_MS);
    const current = codeAt(user.secret, clock.now());
    const ok = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      current,
    );
    expect(ok.statusCode).toBe(200);
    const stale = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      previous,
    );
    expectProblem(stale, 401, 'invalid_mfa_code');
  });

  it('a code from two steps ago (t−60 s) is refused; one step of drift is allowed (MFA-03)', async () => {
    const user = await mfaUser();
    // Far past the enrolment's step, so only the window can refuse it, not the replay guard.
    clock.advance(4 * STEP_MS);
    const twoStepsAgo = codeAt(user.secret, clock.now() - 2 * STEP_MS);
    const old = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      twoStepsAgo,
    );
    expectProblem(old, 401, 'invalid_mfa_code');
    const twoStepsAhead = codeAt(user.secret, clock.now() + 2 * STEP_MS);
    const ahead = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      twoStepsAhead,
    );
    expectProblem(ahead, 401, 'invalid_mfa_code');
    const oneStepAgo = codeAt(user.secret, clock.now() - STEP_MS);
    const drift = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      oneStepAgo,
    );
    expect(drift.statusCode).toBe(200);
  });
});

describe('mfaTokens', () => {
  it('the 6th attempt on one mfaToken fails even with the right code (MFA-05)', async () => {
    const user = await mfaUser();
    const mfaToken = await startMfaLogin(ctx.app, user.email, user.password);
    const right = freshCode(user.secret, clock);
    for (let i = 0; i < 5; i++) {
      const res = await postMfaCode(ctx.app, mfaToken, wrongCode(user.secret, clock.now()));
      expectProblem(res, 401, 'invalid_mfa_code');
    }
    const sixth = await postMfaCode(ctx.app, mfaToken, right);
    expectProblem(sixth, 401, 'invalid_mfa_token');
    // The code itself was right and was not spent: a new challenge takes it.
    const fresh = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      right,
    );
    expect(fresh.statusCode).toBe(200);
  });

  it('an mfaToken older than 5 minutes is refused (MFA-06)', async () => {
    const user = await mfaUser();
    const challenge = await startMfaLogin(ctx.app, user.email, user.password);
    const { payload, header } = {
      payload: decodeJwt(challenge.mfaToken),
      header: decodeProtectedHeader(challenge.mfaToken),
    };
    expect(header.typ).toBe('mfa+jwt');
    expect(payload.aud).not.toBe(ctx.config.jwt.audience);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(300);
    clock.advance(5 * MINUTE_MS + 1000);
    const res = await postMfaCode(ctx.app, challenge, codeAt(user.secret, clock.now()));
    expectProblem(res, 401, 'invalid_mfa_token');
  });

  it("a foreign mfaToken: user A's challenge does not accept user B's code", async () => {
    const a = await mfaUser();
    const b = await mfaUser();
    const tokenA = await startMfaLogin(ctx.app, a.email, a.password);
    const codeB = freshCode(b.secret, clock);
    const res = await postMfaCode(ctx.app, tokenA, codeB);
    expectProblem(res, 401, 'invalid_mfa_code');
    expect(res.headers['set-cookie']).toBeUndefined();
    // B's own recovery code on A's challenge fails too.
    const rec = await postMfaCode(ctx.app, tokenA, b.recoveryCodes[0] as string);
    expectProblem(rec, 401, 'invalid_mfa_code');
    // The attempt did not spend B's code on B's account.
    const own = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, b.email, b.password),
      codeB,
    );
    expect(own.statusCode).toBe(200);
    expect(own.json().user.id).toBe(b.userId);
  });

  it('a tampered mfaToken fails: another subject, a broken signature, alg none', async () => {
    const a = await mfaUser();
    const b = await mfaUser();
    const challengeA = await startMfaLogin(ctx.app, a.email, a.password);
    // Each forgery travels with A's own cookie: only the token is what is under attack.
    const withToken = (mfaToken: string): MfaChallenge => ({ ...challengeA, mfaToken });
    const [header, payload, signature] = challengeA.mfaToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const asB = Buffer.from(JSON.stringify({ ...claims, sub: b.userId })).toString('base64url');
    const codeB = freshCode(b.secret, clock);

    const swapped = await postMfaCode(ctx.app, withToken(`${header}.${asB}.${signature}`), codeB);
    expectProblem(swapped, 401, 'invalid_mfa_token');

    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    const broken = await postMfaCode(ctx.app, withToken(`${header}.${payload}.${flipped}`), codeB);
    expectProblem(broken, 401, 'invalid_mfa_token');

    const noneHeader = Buffer.from(
      JSON.stringify({ ...decodeProtectedHeader(challengeA.mfaToken), alg: 'none' }),
    ).toString('base64url');
    const none = await postMfaCode(ctx.app, withToken(`${noneHeader}.${asB}.`), codeB);
    expectProblem(none, 401, 'invalid_mfa_token');

    // None of it spent B's code.
    const own = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, b.email, b.password),
      codeB,
    );
    expect(own.statusCode).toBe(200);
  });

  it('an mfaToken is not an access token, and an access token is not an mfaToken (MFA-06)', async () => {
    const user = await mfaUser();
    const challenge = await startMfaLogin(ctx.app, user.email, user.password);
    const asBearer = await me(challenge.mfaToken);
    expectProblem(asBearer, 401, 'unauthorized');
    const asBearerOnMfa = await removeMfa(challenge.mfaToken, freshCode(user.secret, clock));
    expectProblem(asBearerOnMfa, 401, 'unauthorized');

    const asChallenge = await postMfaCode(
      ctx.app,
      { ...challenge, mfaToken: user.enrolSession.accessToken },
      freshCode(user.secret, clock),
    );
    expectProblem(asChallenge, 401, 'invalid_mfa_token');
  });

  it('an mfaToken that completed a login cannot log in again', async () => {
    const user = await mfaUser();
    const mfaToken = await startMfaLogin(ctx.app, user.email, user.password);
    const first = await postMfaCode(ctx.app, mfaToken, freshCode(user.secret, clock));
    expect(first.statusCode).toBe(200);
    const again = await postMfaCode(ctx.app, mfaToken, freshCode(user.secret, clock));
    expectProblem(again, 401, 'invalid_mfa_token');
    const withRecovery = await postMfaCode(ctx.app, mfaToken, user.recoveryCodes[0] as string);
    expectProblem(withRecovery, 401, 'invalid_mfa_token');
  });
});

describe('an mfaToken is bound to its login (issue 8)', () => {
  const NEW_PASSWORD = 'quiet-harbour-lamps-glow-at-7-dusk';

  it('the login sets the challenge cookie HttpOnly, SameSite=Strict, for /auth/login/mfa only, and the token holds only its SHA-256', async () => {
    const user = await mfaUser();
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: user.password },
    });
    expectProblem(res, 401, 'mfa_required');
    const set = [res.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('bastion_mfa='));
    expect(set).toBeDefined();
    const attrs = (set as string).split(';').map((a) => a.trim().toLowerCase());
    expect(attrs).toEqual(
      expect.arrayContaining([
        'httponly',
        'samesite=strict',
        'path=/auth/login/mfa',
        'max-age=300',
      ]),
    );
    const nonce = (set as string).split(';')[0]?.split('=')[1] as string;
    expect(nonce.length).toBeGreaterThanOrEqual(43);
    const token: string = res.json().mfaToken;
    expect(token).not.toContain(nonce);
    expect(decodeJwt(token).nonce_sha256).toBe(
      createHash('sha256').update(nonce).digest('base64url'),
    );
  });

  it('an mfaToken replayed without its cookie is refused, and spends neither an attempt nor the code', async () => {
    const user = await mfaUser();
    const challenge = await startMfaLogin(ctx.app, user.email, user.password);
    const right = freshCode(user.secret, clock);
    for (let i = 0; i < 6; i++) {
      const stolen = await postMfaCode(ctx.app, { ...challenge, cookie: '' }, right);
      expectProblem(stolen, 401, 'invalid_mfa_token');
      expect(stolen.headers['set-cookie']).toBeUndefined();
    }
    const forged = await postMfaCode(ctx.app, { ...challenge, cookie: 'bastion_mfa=x' }, right);
    expectProblem(forged, 401, 'invalid_mfa_token');
    // The owner's own client, holding the cookie, still logs in with that very code.
    const own = await postMfaCode(ctx.app, challenge, right);
    expect(own.statusCode).toBe(200);
  });

  it("an mfaToken with another login's cookie is refused: the same account's, or another's", async () => {
    const user = await mfaUser();
    const other = await mfaUser();
    const victim = await startMfaLogin(ctx.app, user.email, user.password);
    const attackerOwn = await startMfaLogin(ctx.app, user.email, user.password);
    const otherLogin = await startMfaLogin(ctx.app, other.email, other.password);
    const right = freshCode(user.secret, clock);
    const swapped = await postMfaCode(ctx.app, { ...victim, cookie: attackerOwn.cookie }, right);
    expectProblem(swapped, 401, 'invalid_mfa_token');
    const foreign = await postMfaCode(ctx.app, { ...victim, cookie: otherLogin.cookie }, right);
    expectProblem(foreign, 401, 'invalid_mfa_token');
    expect((await postMfaCode(ctx.app, victim, right)).statusCode).toBe(200);
  });

  it('an mfaToken issued before a password reset is refused after it, cookie and right code notwithstanding', async () => {
    const user = await mfaUser();
    const before = await startMfaLogin(ctx.app, user.email, user.password);
    await ctx.app.inject({
      method: 'POST',
      url: '/auth/password/forgot',
      payload: { email: user.email },
    });
    const token = linkToken(await waitForAccountMail(smtp, user.email, 'reset'), 'reset');
    const reset = await ctx.app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token, newPassword: NEW_PASSWORD },
    });
    expect(reset.statusCode, reset.body).toBe(204);
    const right = freshCode(user.secret, clock);
    expectProblem(await postMfaCode(ctx.app, before, right), 401, 'invalid_mfa_token');
    // A login with the new password works, with the code the refusal did not spend.
    const after = await startMfaLogin(ctx.app, user.email, NEW_PASSWORD);
    expect((await postMfaCode(ctx.app, after, right)).statusCode).toBe(200);
  });

  it('an mfaToken issued before a password change is refused after it', async () => {
    const user = await mfaUser();
    const before = await startMfaLogin(ctx.app, user.email, user.password);
    const change = await ctx.app.inject({
      method: 'POST',
      url: '/auth/password/change',
      headers: bearer(user.enrolSession.accessToken),
      // With MFA on, a change needs a code (issue 14).
      payload: {
        currentPassword: user.password,
        newPassword: NEW_PASSWORD,
        code: freshCode(user.secret, clock),
      },
    });
    expect(change.statusCode, change.body).toBe(204);
    const res = await postMfaCode(ctx.app, before, freshCode(user.secret, clock));
    expectProblem(res, 401, 'invalid_mfa_token');
  });

  it('an mfaToken issued before MFA was removed is refused, even once MFA is on again with a new secret', async () => {
    const user = await mfaUser();
    const before = await startMfaLogin(ctx.app, user.email, user.password);
    const off = await removeMfa(user.enrolSession.accessToken, freshCode(user.secret, clock));
    expect(off.statusCode, off.body).toBe(204);
    clock.advance(STEP_MS);
    // Removing MFA ended every session (issue 14): enrol again from a new login.
    const relogged = await login(ctx.app, user.email, user.password);
    const again = await enrolTotp(ctx.app, relogged.accessToken, clock);
    const res = await postMfaCode(ctx.app, before, freshCode(again.secret, clock));
    expectProblem(res, 401, 'invalid_mfa_token');
  });
});

describe('recovery codes', () => {
  it('a used recovery code is refused, in any spelling (MFA-08)', async () => {
    const user = await mfaUser();
    const code = user.recoveryCodes[0] as string;
    const first = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      code,
    );
    expect(first.statusCode).toBe(200);
    expect(first.json().recoveryCodesRemaining).toBe(9);
    for (const spelling of [code, code.replace(/-/g, '').toUpperCase()]) {
      const again = await postMfaCode(
        ctx.app,
        await startMfaLogin(ctx.app, user.email, user.password),
        spelling,
      );
      expectProblem(again, 401, 'invalid_mfa_code');
    }
  });

  it('a concurrent double use of one recovery code logs in once', async () => {
    const user = await mfaUser();
    const code = user.recoveryCodes[5] as string;
    const tokens = await Promise.all([
      startMfaLogin(ctx.app, user.email, user.password),
      startMfaLogin(ctx.app, user.email, user.password),
    ]);
    const results = await Promise.all(tokens.map((t) => postMfaCode(ctx.app, t, code)));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });
});

describe('step-up for MFA changes (MFA-07)', () => {
  /** Logs in with MFA, then lets 5 min 1 s pass, refreshing the access token as a client would. */
  async function staleSession(user: MfaUser) {
    const session = await loginWithMfa(
      ctx.app,
      user.email,
      user.password,
      freshCode(user.secret, clock),
    );
    const loginAuthTime = decodeJwt(session.accessToken).auth_time;
    clock.advance(5 * MINUTE_MS + 1000);
    const refreshed = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
    });
    expect(refreshed.statusCode).toBe(200);
    const accessToken: string = refreshed.json().accessToken;
    expect(accessToken).not.toBe(session.accessToken);
    // A refresh is not a login: the original auth_time travels on.
    expect(decodeJwt(accessToken).auth_time).toBe(loginAuthTime);
    expect(decodeJwt(accessToken).amr).toEqual(['pwd', 'otp']);
    return { accessToken, cookie: cookieHeader(refreshed.headers['set-cookie']) };
  }

  it('removing MFA over 5 minutes after login answers 401 reauthentication_required; MFA stays on', async () => {
    const user = await mfaUser();
    const { accessToken } = await staleSession(user);
    const byTotp = await removeMfa(accessToken, freshCode(user.secret, clock));
    expectProblem(byTotp, 401, 'reauthentication_required');
    const byRecovery = await removeMfa(accessToken, user.recoveryCodes[0] as string);
    expectProblem(byRecovery, 401, 'reauthentication_required');
    expect((await me(accessToken)).json().user.mfaEnabled).toBe(true);
    await startMfaLogin(ctx.app, user.email, user.password);
  });

  it('regenerating recovery codes over 5 minutes after login answers 401 reauthentication_required', async () => {
    const user = await mfaUser();
    const { accessToken } = await staleSession(user);
    const res = await regenerate(accessToken, freshCode(user.secret, clock));
    expectProblem(res, 401, 'reauthentication_required');
    // The old codes still work: nothing was replaced.
    const ok = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      user.recoveryCodes[0] as string,
    );
    expect(ok.statusCode).toBe(200);
    expect(ok.json().recoveryCodesRemaining).toBe(9);
  });

  it('a recent login is not enough without a valid code: MFA stays on', async () => {
    const user = await mfaUser();
    const session = await loginWithMfa(
      ctx.app,
      user.email,
      user.password,
      freshCode(user.secret, clock),
    );
    const wrong = await removeMfa(session.accessToken, wrongCode(user.secret, clock.now()));
    expectProblem(wrong, 401, 'invalid_mfa_code');
    // The code that just logged in cannot be replayed for the removal either.
    const replay = await removeMfa(session.accessToken, codeAt(user.secret, clock.now()));
    expectProblem(replay, 401, 'invalid_mfa_code');
    const regen = await regenerate(session.accessToken, wrongCode(user.secret, clock.now()));
    expectProblem(regen, 401, 'invalid_mfa_code');
    expect((await me(session.accessToken)).json().user.mfaEnabled).toBe(true);
    await startMfaLogin(ctx.app, user.email, user.password);
  });
  it('a session whose login is over 5 minutes old cannot turn MFA on: a thief cannot enrol their authenticator', async () => {
    const victim = await signUp(ctx.app, smtp);
    // Set up while the login is recent, then let it age: confirm is refused too.
    const setup = await ctx.app.inject({
      method: 'POST',
      url: '/auth/mfa/totp/setup',
      headers: bearer(victim.accessToken),
    });
    expect(setup.statusCode).toBe(200);
    const { secret } = setup.json();
    clock.advance(5 * MINUTE_MS + 1000);
    // A stolen refresh cookie keeps minting access tokens, with the old auth_time.
    const refreshed = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { cookie: victim.cookie, 'x-csrf-token': victim.csrfToken },
    });
    expect(refreshed.statusCode).toBe(200);
    const stolen: string = refreshed.json().accessToken;

    const confirm = await ctx.app.inject({
      method: 'POST',
      url: '/auth/mfa/totp/confirm',
      headers: bearer(stolen),
      payload: { code: codeAt(secret, clock.now()) },
    });
    expectProblem(confirm, 401, 'reauthentication_required');
    const again = await ctx.app.inject({
      method: 'POST',
      url: '/auth/mfa/totp/setup',
      headers: bearer(stolen),
    });
    expectProblem(again, 401, 'reauthentication_required');
    expect((await me(stolen)).json().user.mfaEnabled).toBe(false);
    // The owner still logs in with the password alone.
    await login(ctx.app, victim.email, victim.password);
  });
});

describe('administrators must use MFA (MFA-01)', () => {
  /**
   * Every admin-only API route of the real app: all of /admin, and the catalog's writes. The
   * /admin console pages (public routes that check the page session themselves) answer HTML and
   * have their own MFA attack test (src/web/admin/admin.pages.attack.test.ts).
   */
  function adminRoutes() {
    const routes = ctx.app
      .routeAccess()
      .filter((r) => r.method !== 'HEAD' && r.access !== 'public');
    return {
      admin: routes.filter((r) => r.url === '/admin' || r.url.startsWith('/admin/')),
      catalog: routes.filter((r) => r.url.startsWith('/products') && r.method !== 'GET'),
    };
  }

  /** Calls every route with each path parameter set to `id`; returns "METHOD url: status code". */
  async function walk(routes: { method: string; url: string }[], id: string, token: string) {
    const answers: { route: string; status: number; code?: string; title?: string }[] = [];
    for (const r of routes) {
      const res = await ctx.app.inject({
        method: r.method as 'GET',
        url: r.url.replace(/:\w+/g, id),
        headers: bearer(token),
      });
      const body = (res.body ? res.json() : {}) as { code?: string; title?: string };
      answers.push({ route: `${r.method} ${r.url}`, status: res.statusCode, ...body });
    }
    return answers;
  }

  /** A fresh admin who logged in with the password alone. */
  async function adminWithoutMfa() {
    const { email, password, userId } = await registerAndVerify(ctx.app, smtp);
    await ctx.database.db
      .updateTable('users')
      .set({ roles: ['admin'] })
      .where('id', '=', userId)
      .execute();
    const admin = await login(ctx.app, email, password);
    expect(decodeJwt(admin.accessToken).roles).toContain('admin');
    expect(decodeJwt(admin.accessToken).amr).toEqual(['pwd']);
    return admin;
  }

  it('an admin without MFA gets 403 mfa_enrollment_required, naming how to enrol, on every /admin route and every catalog write', async () => {
    const { admin, catalog } = adminRoutes();
    // The route table and the OpenAPI document agree on what /admin is: nothing is skipped.
    const doc = (await ctx.app.inject({ url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/admin'))
      .flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      );
    expect(documented.length).toBeGreaterThan(5);
    expect(admin.map((r) => `${r.method} ${r.url}`).sort()).toEqual(documented.sort());
    expect(catalog.map((r) => `${r.method} ${r.url}`).sort()).toEqual([
      'DELETE /products/:id',
      'PATCH /products/:id',
      'POST /products',
      'PUT /products/:id/image',
    ]);
    const session = await adminWithoutMfa();
    // Path parameters name a real account, so a gate that let the call through would act on it.
    const target = await registerAndVerify(ctx.app, smtp);
    const answers = await walk([...admin, ...catalog], target.userId, session.accessToken);
    const wrong = answers.filter(
      (a) =>
        a.status !== 403 ||
        a.code !== 'mfa_enrollment_required' ||
        !a.title?.includes('/auth/mfa/totp/setup'),
    );
    expect(wrong).toEqual([]);
    // The target is untouched: not deleted, not locked, still able to log in.
    await login(ctx.app, target.email, target.password);
  });

  it('after enrolling, the old session is still refused; a login through MFA opens every admin route', async () => {
    const session = await adminWithoutMfa();
    // What every user may do still works, enrolment included.
    expect((await me(session.accessToken)).statusCode).toBe(200);
    const { secret } = await enrolTotp(ctx.app, session.accessToken, clock);

    // The session predates the second factor: still refused.
    const stillBlocked = await ctx.app.inject({
      method: 'GET',
      url: '/admin/users',
      headers: bearer(session.accessToken),
    });
    expectProblem(stillBlocked, 403, 'mfa_enrollment_required');

    const withMfa = await loginWithMfa(
      ctx.app,
      session.email,
      session.password,
      freshCode(secret, clock),
    );
    const allowed = await ctx.app.inject({
      method: 'GET',
      url: '/admin/users',
      headers: bearer(withMfa.accessToken),
    });
    expect(allowed.statusCode).toBe(200);
    // Control for the walk above: with MFA no admin route answers 403 (ids name nothing here).
    const { admin, catalog } = adminRoutes();
    const answers = await walk([...admin, ...catalog], randomUUID(), withMfa.accessToken);
    expect(answers.filter((a) => a.status === 403 || a.status === 401)).toEqual([]);
  });

  it('a user without the role gets 403 forbidden, MFA or not', async () => {
    const user = await mfaUser();
    const session = await loginWithMfa(
      ctx.app,
      user.email,
      user.password,
      freshCode(user.secret, clock),
    );
    const res = await ctx.app.inject({
      method: 'GET',
      url: '/admin/users',
      headers: bearer(session.accessToken),
    });
    expectProblem(res, 403, 'forbidden');
  });
});

describe('an MFA change and its audit entry commit together (issue 8)', () => {
  async function trail(userId: string): Promise<string[]> {
    const rows = await ctx.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_id', '=', userId)
      .orderBy('seq')
      .execute();
    return rows.map((r) => r.action);
  }

  it('when the entry cannot be written, removal, regeneration and a recovery-code login change nothing', async () => {
    const user = await mfaUser();
    const code = user.recoveryCodes[0] as string;
    await withFailingAudit(
      ctx.database.db,
      ['account.mfa_disabled', 'account.recovery_codes_regenerated', 'account.recovery_code_used'],
      async () => {
        const off = await removeMfa(user.enrolSession.accessToken, freshCode(user.secret, clock));
        expectProblem(off, 500, 'internal_error');
        const regen = await regenerate(
          user.enrolSession.accessToken,
          freshCode(user.secret, clock),
        );
        expectProblem(regen, 500, 'internal_error');
        const viaRecovery = await postMfaCode(
          ctx.app,
          await startMfaLogin(ctx.app, user.email, user.password),
          code,
        );
        expectProblem(viaRecovery, 500, 'internal_error');
      },
    );
    expect((await me(user.enrolSession.accessToken)).json().user.mfaEnabled).toBe(true);
    // The old codes were not replaced, and the failed login did not use this one up.
    const ok = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      code,
    );
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().recoveryCodesRemaining).toBe(9);
    expect(await trail(user.userId)).toEqual([
      'account.email_verified',
      'account.mfa_enabled',
      'account.recovery_code_used',
    ]);
  });

  it('when the entry cannot be written, confirming enrolment does not turn MFA on', async () => {
    const session = await signUp(ctx.app, smtp);
    const setup = await ctx.app.inject({
      method: 'POST',
      url: '/auth/mfa/totp/setup',
      headers: bearer(session.accessToken),
    });
    const { secret } = setup.json();
    await withFailingAudit(ctx.database.db, ['account.mfa_enabled'], async () => {
      const confirm = await ctx.app.inject({
        method: 'POST',
        url: '/auth/mfa/totp/confirm',
        headers: bearer(session.accessToken),
        payload: { code: freshCode(secret, clock) },
      });
      expectProblem(confirm, 500, 'internal_error');
    });
    expect((await me(session.accessToken)).json().user.mfaEnabled).toBe(false);
    expect(await trail(session.userId)).toEqual(['account.email_verified']);
    await login(ctx.app, session.email, session.password);
  });
});

describe('brute force across challenges', () => {
  it("10 wrong codes over several mfaTokens spend the account's budget; the 11th attempt gets 429, even a new mfaToken with the right code", async () => {
    const user = await mfaUser();
    // The budget is 10 wrong codes per account per 15 minutes, over every path; the right code
    // that confirmed the enrolment gave its point back.
    const outcomes: string[] = [];
    for (const attempts of [4, 4, 2]) {
      const challenge = await startMfaLogin(ctx.app, user.email, user.password);
      for (let i = 0; i < attempts; i++) {
        const res = await postMfaCode(ctx.app, challenge, wrongCode(user.secret, clock.now()));
        outcomes.push(`${res.statusCode} ${res.json().code}`);
      }
    }
    expect(outcomes).toEqual(Array.from({ length: 10 }, () => '401 invalid_mfa_code'));

    const right = freshCode(user.secret, clock);
    const fresh = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      right,
    );
    expectProblem(fresh, 429, 'rate_limited');
    expect(Number(fresh.headers['retry-after'])).toBeGreaterThan(0);
    const recovery = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      user.recoveryCodes[0] as string,
    );
    expectProblem(recovery, 429, 'rate_limited');
    // The same budget guards removal, from a session recent enough for step-up.
    const removal = await removeMfa(user.enrolSession.accessToken, right);
    expectProblem(removal, 429, 'rate_limited');
    await startMfaLogin(ctx.app, user.email, user.password);
  });

  it('a concurrent burst of wrong codes cannot exceed the budget: 15 at once, 10 judged', async () => {
    const user = await mfaUser();
    const challenges = await Promise.all(
      [0, 1, 2].map(() => startMfaLogin(ctx.app, user.email, user.password)),
    );
    const wrong = wrongCode(user.secret, clock.now());
    const results = await Promise.all(
      challenges.flatMap((c) => Array.from({ length: 5 }, () => postMfaCode(ctx.app, c, wrong))),
    );
    const counts: Record<string, number> = {};
    for (const r of results) {
      const key = `${r.statusCode} ${r.json().code}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    expect(counts).toEqual({ '401 invalid_mfa_code': 10, '429 rate_limited': 5 });
  });

  it('right codes are not counted: 11 MFA logins in a row succeed (issue 8)', async () => {
    const user = await mfaUser();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const challenge = await startMfaLogin(ctx.app, user.email, user.password);
      statuses.push(
        (await postMfaCode(ctx.app, challenge, freshCode(user.secret, clock))).statusCode,
      );
    }
    const challenge = await startMfaLogin(ctx.app, user.email, user.password);
    statuses.push(
      (await postMfaCode(ctx.app, challenge, user.recoveryCodes[0] as string)).statusCode,
    );
    expect(statuses).toEqual(Array.from({ length: 11 }, () => 200));
    // All of it inside one window of the limit.
    expect(11 * STEP_MS).toBeLessThan(ctx.config.rateLimits.mfaWindowSeconds * 1000);
  });

  it('checks that fail on our side (the database) do not spend the budget: the owner logs in after the outage', async () => {
    const user = await mfaUser();
    // The code check's own write (the accepted TOTP step) fails for this user only.
    await sql`
      CREATE OR REPLACE FUNCTION test_refuse_totp_step() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'totp step refused by the test'; END $$`.execute(ctx.database.db);
    await sql`
      CREATE TRIGGER test_refuse_totp_step BEFORE UPDATE OF totp_last_counter ON users
      FOR EACH ROW WHEN (OLD.id = ${sql.lit(user.userId)}::uuid)
      EXECUTE FUNCTION test_refuse_totp_step()`.execute(ctx.database.db);
    const outcomes: string[] = [];
    try {
      const limit = ctx.config.rateLimits.mfaCodes;
      for (let i = 0; i <= limit; i++) {
        const challenge = await startMfaLogin(ctx.app, user.email, user.password);
        const res = await postMfaCode(ctx.app, challenge, freshCode(user.secret, clock));
        outcomes.push(`${res.statusCode} ${res.json().code}`);
      }
      expect(outcomes).toEqual(Array.from({ length: limit + 1 }, () => '500 internal_error'));
    } finally {
      await sql`DROP TRIGGER test_refuse_totp_step ON users`.execute(ctx.database.db);
    }
    const after = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, user.email, user.password),
      freshCode(user.secret, clock),
    );
    expect(after.statusCode, after.body).toBe(200);
    // Wrong codes are still counted from a full budget: 10 refused, the next throttled.
    const wrong: number[] = [];
    for (let i = 0; i <= ctx.config.rateLimits.mfaCodes; i++) {
      const challenge = await startMfaLogin(ctx.app, user.email, user.password);
      wrong.push(
        (await postMfaCode(ctx.app, challenge, wrongCode(user.secret, clock.now()))).statusCode,
      );
    }
    expect(wrong).toEqual([...Array.from({ length: 10 }, () => 401), 429]);
  });

  it('the budget is per account: another account is not affected', async () => {
    const other = await mfaUser();
    const res = await postMfaCode(
      ctx.app,
      await startMfaLogin(ctx.app, other.email, other.password),
      freshCode(other.secret, clock),
    );
    expect(res.statusCode).toBe(200);
  });
});

describe('a reader of the database (MFA-02, MFA-08)', () => {
  /** Every value of every row, as text. */
  function dump(rows: Record<string, unknown>[]): string[] {
    return rows.flatMap((row) =>
      Object.values(row).map((v) =>
        v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : JSON.stringify(v),
      ),
    );
  }

  function expectAbsent(values: string[], secrets: string[]) {
    const haystack = values.map((v) => (v ?? '').toLowerCase());
    for (const s of secrets) {
      const needle = s.toLowerCase();
      expect(
        haystack.some((v) => v.includes(needle)),
        `"${s}" found in plain text`,
      ).toBe(false);
    }
  }

  function variants(recoveryCodes: string[]): string[] {
    return recoveryCodes.flatMap((c) => [c, c.replace(/-/g, '')]);
  }

  it('finds no TOTP secret or recovery code in plain text, and cannot open the sealed secret without the master key', async () => {
    const session = await signUp(ctx.app, smtp);
    const db = ctx.database.db;
    const userRow = () => db.selectFrom('users').selectAll().where('id', '=', session.userId);

    // Pending, before confirmation.
    const setup = await ctx.app.inject({
      method: 'POST',
      url: '/auth/mfa/totp/setup',
      headers: bearer(session.accessToken),
    });
    const secret: string = setup.json().secret;
    const pending = await userRow().executeTakeFirstOrThrow();
    expect(pending.totp_pending_sealed).toBeTruthy();
    expectAbsent(dump([pending]), [secret]);

    const confirm = await ctx.app.inject({
      method: 'POST',
      url: '/auth/mfa/totp/confirm',
      headers: bearer(session.accessToken),
      payload: { code: codeAt(secret, clock.now()) },
    });
    expect(confirm.statusCode).toBe(200);
    const recoveryCodes: string[] = confirm.json().recoveryCodes;

    const users = await userRow().execute();
    const codes = await db
      .selectFrom('mfa_recovery_codes')
      .selectAll()
      .where('user_id', '=', session.userId)
      .execute();
    expect(users).toHaveLength(1);
    expect(codes).toHaveLength(10);
    const values = dump([...users, ...codes]);
    expectAbsent(values, [secret, ...variants(recoveryCodes)]);

    // Not even an unkeyed hash of a recovery code: a dump alone cannot be brute-forced offline.
    const unkeyed = recoveryCodes.flatMap((c) =>
      [c, c.replace(/-/g, '')].flatMap((v) => {
        const digest = createHash('sha256').update(v).digest();
        return [digest.toString('hex'), digest.toString('base64url'), digest.toString('base64')];
      }),
    );
    expectAbsent(
      codes.map((c) => c.code_hash),
      unkeyed,
    );

    // The sealed secret: AES-256-GCM under a key derived from the master key, bound to the user.
    const sealed = users[0]?.totp_secret_sealed as string;
    expect(sealed).toBeTruthy();
    expect(users[0]?.totp_pending_sealed).toBeNull();
    const master = ctx.config.keyEncryptionKey as Buffer;
    expect(unseal(deriveKey(master, 'totp-secrets'), sealed, `totp:${session.userId}`)).toBe(
      secret,
    );
    const otherMaster = randomBytes(32);
    expect(() =>
      unseal(deriveKey(otherMaster, 'totp-secrets'), sealed, `totp:${session.userId}`),
    ).toThrow();
    // Moved to another user's row, it does not open for them either.
    expect(() => unseal(deriveKey(master, 'totp-secrets'), sealed, 'totp:someone-else')).toThrow();

    // Nowhere else in the database either, nor in the logs.
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(db);
    expect(tables.rows.length).toBeGreaterThan(3);
    for (const { table_name } of tables.rows) {
      const rows = await sql<
        Record<string, unknown>
      >`select * from ${sql.table(table_name)}`.execute(db);
      expectAbsent(dump(rows.rows), [secret, ...variants(recoveryCodes)]);
    }
    expectAbsent(
      ctx.logs.map((l) => JSON.stringify(l)),
      [secret, ...variants(recoveryCodes)],
    );
  });
});
