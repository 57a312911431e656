/**
 * Attacks on refresh tokens and sessions (issue 4; checklist SESS-02..SESS-08, PWD-05, WEB-01):
 * replayed and forged refresh tokens, cross-site refreshes, revoking someone else's session,
 * and sessions kept past their idle or absolute lifetime.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import {
  bearer,
  cookieValue,
  type LoggedIn,
  login,
  registerAndVerify,
  signUp,
} from '../../../test/support/auth.js';
import {
  openTestDatabase,
  openTestState,
  type TestDatabase,
} from '../../../test/support/services.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import {
  codeOf,
  DAY,
  HOUR,
  MINUTE,
  me,
  refresh,
  rotated,
  SETUP_TIMEOUT_MS,
} from '../../../test/support/tokens.js';
import { manualClock } from '../../platform/clock.js';
import type { SharedState } from '../../platform/state/shared-state.js';

let smtp: TestSmtp;
let database: TestDatabase;
let state: SharedState;
let ctx: TestContext;

const env = () => ({ SMTP_URL: smtp.url });

beforeAll(async () => {
  smtp = await startTestSmtp();
  database = await openTestDatabase();
  state = await openTestState();
  ctx = await createTestApp({ database, state, env: env() });
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await state?.close();
  await database?.close();
  await smtp?.close();
});

/** A second instance on the same database and state whose clock the test moves. */
async function withManualClock(
  run: (app: TestContext, clock: ReturnType<typeof manualClock>) => Promise<void>,
) {
  const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
  const timed = await createTestApp({ database, state, env: env(), deps: { clock } });
  try {
    await run(timed, clock);
  } finally {
    await timed.close();
  }
}

/** What a browser holds for one session. */
type SessionHandle = Pick<LoggedIn, 'accessToken' | 'cookie' | 'csrfToken'>;

/** Asserts that neither the access token nor the refresh cookie of a session works any more. */
async function expectSessionDead(app: TestContext['app'], session: SessionHandle) {
  const access = await me(app, session.accessToken);
  expect(access.statusCode).toBe(401);
  expect(codeOf(access)).toBe('unauthorized');
  const renewed = await refresh(app, session.cookie, session.csrfToken);
  expect(renewed.statusCode).toBe(401);
  expect(codeOf(renewed)).toBe('unauthorized');
}

/**
 * Asserts that both the access token and the refresh cookie of a session work; returns the
 * rotated session, since the refresh used up the cookie.
 */
async function expectSessionAlive(
  app: TestContext['app'],
  session: SessionHandle,
): Promise<SessionHandle> {
  expect((await me(app, session.accessToken)).statusCode).toBe(200);
  const renewed = await refresh(app, session.cookie, session.csrfToken);
  expect(renewed.statusCode).toBe(200);
  return rotated(renewed);
}

describe('attack: replaying a rotated refresh token', () => {
  it('a replay after the 10 s grace window is refused, revokes the whole session and raises a security event', async () => {
    const { email, password, userId } = await registerAndVerify(ctx.app, smtp);
    await withManualClock(async (timed, clock) => {
      const stolen = await login(timed.app, email, password);
      const bystander = await login(timed.app, email, password);
      const sid = decodeJwt(stolen.accessToken).sid as string;
      const legit = rotated(await refresh(timed.app, stolen.cookie, stolen.csrfToken));

      clock.advance(11_000);
      const replay = await refresh(timed.app, stolen.cookie, stolen.csrfToken);
      expect(replay.statusCode).toBe(401);
      expect(codeOf(replay)).toBe('refresh_token_reused');

      // The newest refresh token and every access token of that session are dead too.
      await expectSessionDead(timed.app, legit);
      expect((await me(timed.app, stolen.accessToken)).statusCode).toBe(401);
      // Only that session: the user's other session lives on.
      await expectSessionAlive(timed.app, bystander);

      const events = await database.db
        .selectFrom('security_events')
        .selectAll()
        .where('type', '=', 'refresh_token_reused')
        .where('user_id', '=', userId)
        .execute();
      expect(events).toHaveLength(1);
      expect(events[0]?.detail).toMatchObject({ sessionId: sid });
      expect(timed.logs).toContainEqual(
        expect.objectContaining({ level: 40, event: 'refresh_token_reused', userId }),
      );
    });
  });

  it('two tabs refreshing the same token at once both succeed and get the same successor', async () => {
    const session = await signUp(ctx.app, smtp);
    const [a, b] = await Promise.all([
      refresh(ctx.app, session.cookie, session.csrfToken),
      refresh(ctx.app, session.cookie, session.csrfToken),
    ]);
    const first = rotated(a);
    const second = rotated(b);
    expect(first.refreshToken).toBeDefined();
    expect(second.refreshToken).toBe(first.refreshToken);
    expect((await me(ctx.app, first.accessToken)).statusCode).toBe(200);
    expect((await me(ctx.app, second.accessToken)).statusCode).toBe(200);
    // The shared successor is a working refresh token, and the session was not revoked.
    expect((await refresh(ctx.app, first.cookie, first.csrfToken)).statusCode).toBe(200);
  });

  it('a replay inside the grace window gets the same successor, not a second one', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    await withManualClock(async (timed, clock) => {
      const session = await login(timed.app, email, password);
      const first = rotated(await refresh(timed.app, session.cookie, session.csrfToken));
      clock.advance(9_000);
      const again = rotated(await refresh(timed.app, session.cookie, session.csrfToken));
      expect(again.refreshToken).toBe(first.refreshToken);
      await expectSessionAlive(timed.app, again);
    });
  });
});

describe('attack: a cross-site refresh or logout (CSRF)', () => {
  let victim: LoggedIn;
  let attacker: LoggedIn;
  beforeAll(async () => {
    victim = await signUp(ctx.app, smtp);
    attacker = await signUp(ctx.app, smtp);
  });

  it('a refresh with the cookies but without, or with a wrong, X-CSRF-Token is refused', async () => {
    const attempts = [
      undefined,
      '',
      'forged',
      `${victim.csrfToken.slice(0, -1)}${victim.csrfToken.endsWith('A') ? 'B' : 'A'}`,
      attacker.csrfToken, // a valid token, but of another session
    ];
    for (const csrf of attempts) {
      const res = await refresh(ctx.app, victim.cookie, csrf);
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('csrf_failed');
    }
    // None of them used up the refresh token or hurt the session.
    await expectSessionAlive(ctx.app, victim);
  });

  it('a logout with the cookies but without the right X-CSRF-Token is refused', async () => {
    for (const csrf of [undefined, attacker.csrfToken]) {
      const headers: Record<string, string> = { cookie: victim.cookie };
      if (csrf) headers['x-csrf-token'] = csrf;
      const res = await ctx.app.inject({ method: 'POST', url: '/auth/logout', headers });
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('csrf_failed');
    }
    expect((await me(ctx.app, victim.accessToken)).statusCode).toBe(200);
  });
});

describe('attack: a refresh without a real refresh token', () => {
  it('no refresh cookie is refused', async () => {
    const session = await signUp(ctx.app, smtp);
    for (const res of [
      await refresh(ctx.app, undefined, session.csrfToken),
      await refresh(ctx.app, `bastion_csrf=${session.csrfToken}`, session.csrfToken),
      await refresh(ctx.app, undefined),
    ]) {
      expect(res.statusCode).toBe(401);
      expect(codeOf(res)).toBe('unauthorized');
    }
  });

  it('an unknown refresh cookie is refused', async () => {
    const session = await signUp(ctx.app, smtp);
    const guesses = [randomBytes(32).toString('base64url'), 'x', "' OR 1=1--"];
    for (const guess of guesses) {
      const res = await refresh(
        ctx.app,
        `bastion_refresh=${encodeURIComponent(guess)}`,
        session.csrfToken,
      );
      expect(res.statusCode).toBe(401);
      expect(codeOf(res)).toBe('unauthorized');
    }
  });

  it('a refresh token outside the cookie (bearer header) is refused', async () => {
    const session = await signUp(ctx.app, smtp);
    const token = cookieValue(session.cookie.split('; '), 'bastion_refresh') as string;
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...bearer(token), 'x-csrf-token': session.csrfToken },
    });
    expect(res.statusCode).toBe(401);
    expect(codeOf(res)).toBe('unauthorized');
  });
});

describe("attack: revoking another user's session", () => {
  it("DELETE /auth/sessions/:id with another user's session id is 404 and the session lives on", async () => {
    const victim = await signUp(ctx.app, smtp);
    const attacker = await signUp(ctx.app, smtp);
    const victimSid = decodeJwt(victim.accessToken).sid as string;
    for (const id of [victimSid, randomUUID()]) {
      const res = await ctx.app.inject({
        method: 'DELETE',
        url: `/auth/sessions/${id}`,
        headers: bearer(attacker.accessToken),
      });
      expect(res.statusCode).toBe(404);
      expect(codeOf(res)).toBe('not_found');
    }
    await expectSessionAlive(ctx.app, victim);
  });

  it('a user can revoke their own other session (control), which then dies', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const laptop = await login(ctx.app, email, password);
    const phone = await login(ctx.app, email, password);
    const res = await ctx.app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${decodeJwt(phone.accessToken).sid}`,
      headers: bearer(laptop.accessToken),
    });
    expect(res.statusCode).toBe(204);
    await expectSessionDead(ctx.app, phone);
    await expectSessionAlive(ctx.app, laptop);
  });
});

describe('logout everywhere and password change', () => {
  it("logout-all kills every session of the user, and no one else's", async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const laptop = await login(ctx.app, email, password);
    const phone = await login(ctx.app, email, password);
    const someoneElse = await signUp(ctx.app, smtp);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(laptop.accessToken),
    });
    expect(res.statusCode).toBe(204);
    await expectSessionDead(ctx.app, laptop);
    await expectSessionDead(ctx.app, phone);
    await expectSessionAlive(ctx.app, someoneElse);
  });

  it('a password change revokes the other sessions but keeps the current one', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    let current: SessionHandle = await login(ctx.app, email, password);
    const thief = await login(ctx.app, email, password);
    const newPassword = 'copper-heron-sings-under-seven-bridges';

    const wrong = await ctx.app.inject({
      method: 'POST',
      url: '/auth/password/change',
      headers: bearer(thief.accessToken),
      payload: { currentPassword: 'not-the-password-at-all-42', newPassword },
    });
    expect(wrong.statusCode).toBe(403);
    expect(codeOf(wrong)).toBe('invalid_credentials');
    current = await expectSessionAlive(ctx.app, current);

    const changed = await ctx.app.inject({
      method: 'POST',
      url: '/auth/password/change',
      headers: bearer(current.accessToken),
      payload: { currentPassword: password, newPassword },
    });
    expect(changed.statusCode).toBe(204);
    await expectSessionDead(ctx.app, thief);
    await expectSessionAlive(ctx.app, current);
  });
});

/** The attributes of one Set-Cookie line, lower-cased names; the cookie's own pair under `name`. */
function cookieAttributes(setCookie: string | string[] | undefined, name: string) {
  const line = [setCookie ?? []].flat().find((c) => c.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie in ${JSON.stringify(setCookie)}`);
  const attrs = new Map<string, string>();
  for (const part of line.split(';').slice(1)) {
    const [key = '', value = ''] = part.trim().split('=');
    attrs.set(key.toLowerCase(), value);
  }
  return attrs;
}

describe('cookies', () => {
  it('on plain HTTP the refresh cookie is HttpOnly, SameSite=Strict, Path=/ and host-only; the CSRF cookie is readable', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password },
    });
    const refreshCookie = cookieAttributes(res.headers['set-cookie'], 'bastion_refresh');
    expect(refreshCookie.has('httponly')).toBe(true);
    expect(refreshCookie.get('samesite')).toBe('Strict');
    expect(refreshCookie.get('path')).toBe('/');
    expect(refreshCookie.has('domain')).toBe(false);
    const csrf = cookieAttributes(res.headers['set-cookie'], 'bastion_csrf');
    expect(csrf.has('httponly')).toBe(false);
    expect(csrf.get('samesite')).toBe('Strict');
    expect(cookieValue(res.headers['set-cookie'], 'bastion_csrf')).toBe(res.json().csrfToken);
  });

  it('over HTTPS the cookies are __Host- prefixed and Secure, and an unprefixed refresh cookie is ignored', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const secure = await createTestApp({
      database,
      state,
      env: { ...env(), PUBLIC_URL: 'https://bastion.example' },
    });
    try {
      const res = await secure.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password },
      });
      expect(res.statusCode).toBe(200);
      const setCookie = res.headers['set-cookie'];
      const refreshCookie = cookieAttributes(setCookie, '__Host-bastion_refresh');
      for (const attr of ['secure', 'httponly']) expect(refreshCookie.has(attr)).toBe(true);
      expect(refreshCookie.get('samesite')).toBe('Strict');
      expect(refreshCookie.get('path')).toBe('/');
      expect(refreshCookie.has('domain')).toBe(false);
      const csrfCookie = cookieAttributes(setCookie, '__Host-bastion_csrf');
      expect(csrfCookie.has('secure')).toBe(true);
      expect(csrfCookie.has('httponly')).toBe(false);

      const token = cookieValue(setCookie, '__Host-bastion_refresh') as string;
      const csrf = res.json().csrfToken as string;
      // A cookie planted without the prefix (e.g. from a sibling subdomain) is not read.
      const planted = await refresh(secure.app, `bastion_refresh=${token}`, csrf);
      expect(planted.statusCode).toBe(401);
      const renewed = await refresh(secure.app, `__Host-bastion_refresh=${token}`, csrf);
      expect(renewed.statusCode).toBe(200);
      const again = cookieAttributes(renewed.headers['set-cookie'], '__Host-bastion_refresh');
      expect(again.has('secure') && again.has('httponly')).toBe(true);
    } finally {
      await secure.close();
    }
  });

  it('logout clears both cookies and sends Clear-Site-Data', async () => {
    const session = await signUp(ctx.app, smtp);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer(session.accessToken),
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['clear-site-data']).toBe('"storage"');
    for (const name of ['bastion_refresh', 'bastion_csrf']) {
      expect(cookieValue(res.headers['set-cookie'], name)).toBe('');
    }
  });
});

describe('caching', () => {
  it('every auth response, success or failure, is Cache-Control: no-store', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const session = await login(ctx.app, email, password);
    const inject = ctx.app.inject.bind(ctx.app);
    const responses = {
      register: await inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email, password, displayName: 'Again' },
      }),
      verifyEmail: await inject({
        method: 'POST',
        url: '/auth/verify-email',
        payload: { token: 'nope', password },
      }),
      loginOk: await inject({ method: 'POST', url: '/auth/login', payload: { email, password } }),
      loginBad: await inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password: 'wrong-password-for-sure-123' },
      }),
      forgot: await inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } }),
      me: await me(ctx.app, session.accessToken),
      meBad: await me(ctx.app, 'a.b.c'),
      sessions: await inject({
        method: 'GET',
        url: '/auth/sessions',
        headers: bearer(session.accessToken),
      }),
      refreshOk: await refresh(ctx.app, session.cookie, session.csrfToken),
      refreshCsrf: await refresh(ctx.app, session.cookie, 'wrong'),
      refreshNone: await refresh(ctx.app, undefined),
      logout: await inject({
        method: 'POST',
        url: '/auth/logout',
        headers: bearer(session.accessToken),
      }),
      logoutAll: await inject({
        method: 'POST',
        url: '/auth/logout-all',
        headers: bearer((await login(ctx.app, email, password)).accessToken),
      }),
    };
    const statuses = Object.fromEntries(
      Object.entries(responses).map(([k, r]) => [k, r.statusCode]),
    );
    expect(statuses).toEqual({
      register: 202,
      verifyEmail: 400,
      loginOk: 200,
      loginBad: 401,
      forgot: 202,
      me: 200,
      meBad: 401,
      sessions: 200,
      refreshOk: 200,
      refreshCsrf: 403,
      refreshNone: 401,
      logout: 204,
      logoutAll: 204,
    });
    for (const [name, res] of Object.entries(responses)) {
      expect({ name, cacheControl: res.headers['cache-control'] }).toEqual({
        name,
        cacheControl: 'no-store',
      });
    }
  });
});

describe('attack: keeping a session past its lifetime (injected clock)', () => {
  it('a session idle for more than 7 days cannot be refreshed; one used in time can', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    await withManualClock(async (timed, clock) => {
      const idle = await login(timed.app, email, password);
      let active: SessionHandle = await login(timed.app, email, password);
      clock.advance(7 * DAY - 1000);
      active = rotated(await refresh(timed.app, active.cookie, active.csrfToken));
      clock.advance(2000);
      const res = await refresh(timed.app, idle.cookie, idle.csrfToken);
      expect(res.statusCode).toBe(401);
      expect(codeOf(res)).toBe('unauthorized');
      expect((await refresh(timed.app, active.cookie, active.csrfToken)).statusCode).toBe(200);
    });
  });

  it('a session refreshed every 6 days still ends 30 days after login', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    await withManualClock(async (timed, clock) => {
      let session: SessionHandle = await login(timed.app, email, password);
      for (let day = 6; day <= 24; day += 6) {
        clock.advance(6 * DAY);
        session = rotated(await refresh(timed.app, session.cookie, session.csrfToken));
      }
      clock.advance(6 * DAY - 1000);
      const last = await refresh(timed.app, session.cookie, session.csrfToken);
      // The cookie never outlives the session.
      expect(cookieAttributes(last.headers['set-cookie'], 'bastion_refresh').get('max-age')).toBe(
        '1',
      );
      session = rotated(last);
      clock.advance(1000);
      const res = await refresh(timed.app, session.cookie, session.csrfToken);
      expect(res.statusCode).toBe(401);
      expect(codeOf(res)).toBe('unauthorized');
    });
  });

  describe('an admin session', () => {
    async function adminLogin(timed: TestContext) {
      const { email, password, userId } = await registerAndVerify(ctx.app, smtp);
      await database.db
        .updateTable('users')
        .set({ roles: ['admin'] })
        .where('id', '=', userId)
        .execute();
      const session = await login(timed.app, email, password);
      expect(decodeJwt(session.accessToken).roles).toEqual(['user', 'admin']);
      return session;
    }

    it('idles out after 1 hour', async () => {
      await withManualClock(async (timed, clock) => {
        const idle = await adminLogin(timed);
        let active: SessionHandle = await adminLogin(timed);
        clock.advance(HOUR - 1000);
        active = rotated(await refresh(timed.app, active.cookie, active.csrfToken));
        clock.advance(2000);
        const res = await refresh(timed.app, idle.cookie, idle.csrfToken);
        expect(res.statusCode).toBe(401);
        expect(codeOf(res)).toBe('unauthorized');
        expect((await refresh(timed.app, active.cookie, active.csrfToken)).statusCode).toBe(200);
      });
    });

    // Regression (issue 4): a session kept the lifetimes of the roles its user held at login.
    it('a session that began before its user was made admin gets the admin bounds at once', async () => {
      const { email, password, userId } = await registerAndVerify(ctx.app, smtp);
      await withManualClock(async (timed, clock) => {
        const idle = await login(timed.app, email, password);
        let active: SessionHandle = await login(timed.app, email, password);
        await database.db
          .updateTable('users')
          .set({ roles: ['admin'] })
          .where('id', '=', userId)
          .execute();
        clock.advance(HOUR - 1000);
        active = rotated(await refresh(timed.app, active.cookie, active.csrfToken));
        expect(decodeJwt(active.accessToken).roles).toEqual(['user', 'admin']);
        clock.advance(2000);
        const res = await refresh(timed.app, idle.cookie, idle.csrfToken);
        expect(res.statusCode).toBe(401);
        expect(codeOf(res)).toBe('unauthorized');
        // Kept busy, it still ends 24 hours after login, not 30 days.
        let elapsed = HOUR + 1000;
        while (elapsed + 50 * MINUTE < 24 * HOUR) {
          clock.advance(50 * MINUTE);
          elapsed += 50 * MINUTE;
          active = rotated(await refresh(timed.app, active.cookie, active.csrfToken));
        }
        clock.advance(24 * HOUR - elapsed);
        const late = await refresh(timed.app, active.cookie, active.csrfToken);
        expect(late.statusCode).toBe(401);
        expect(codeOf(late)).toBe('unauthorized');
      });
    });

    it('ends 24 hours after login however often it is refreshed', async () => {
      await withManualClock(async (timed, clock) => {
        let session: SessionHandle = await adminLogin(timed);
        let elapsed = 0;
        while (elapsed + 55 * MINUTE < 24 * HOUR) {
          clock.advance(55 * MINUTE);
          elapsed += 55 * MINUTE;
          session = rotated(await refresh(timed.app, session.cookie, session.csrfToken));
        }
        clock.advance(24 * HOUR - elapsed);
        const res = await refresh(timed.app, session.cookie, session.csrfToken);
        expect(res.statusCode).toBe(401);
        expect(codeOf(res)).toBe('unauthorized');
      });
    });
  });
});
