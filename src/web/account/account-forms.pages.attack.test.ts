/**
 * The `/account` forms (issue 15) under attack, at the HTTP level: every form refuses a missing
 * or foreign `_csrf` (403 `csrf_failed`, nothing changes); deleting the account or changing its
 * address needs a sign-in within 5 minutes; another user's session id is a 404 and that session
 * stays live; a hostile display name is escaped on `/account`; a deletion needs the box and the
 * right password; an account with MFA cannot change its password without a code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountTestEnv, BUILD_TIMEOUT_MS, userByEmail } from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import {
  cookieHeader,
  type LoggedIn,
  login,
  registerAndVerify,
  STRONG_PASSWORD,
  uniqueEmail,
} from '../../../test/support/auth.js';
import { enrolTotp } from '../../../test/support/mfa.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { manualClock } from '../../platform/clock.js';

const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);
const STALE_MS = 6 * 60 * 1000;

let smtp: TestSmtp;
let ctx: TestContext;

beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: accountTestEnv(smtp), deps: { clock } });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

interface PageUser extends LoggedIn {
  /** Session cookies of the API login plus this browser's form cookie. */
  readonly browserCookie: string;
  /** The `_csrf` of this browser's forms. */
  readonly csrf: string;
  readonly sessionId: string;
}

/** Registers, signs in through the API (the page session is the same) and opens /account. */
async function pageUser(displayName = 'Page User'): Promise<PageUser> {
  const { email } = await registerAndVerify(ctx.app, smtp, {
    email: uniqueEmail('acct-forms'),
    displayName,
  });
  const session = await login(ctx.app, email, STRONG_PASSWORD);
  const page = await ctx.app.inject({
    method: 'GET',
    url: '/account',
    headers: { cookie: session.cookie },
  });
  expect(page.statusCode).toBe(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  expect(csrf).not.toBe('');
  const browserCookie = `${session.cookie}; ${cookieHeader(page.headers['set-cookie'])}`;
  const sessionId = await liveSessionIds(session.userId).then((ids) => ids[0] as string);
  return { ...session, browserCookie, csrf, sessionId };
}

function post(user: PageUser, url: string, form: Record<string, string>) {
  return ctx.app.inject({
    method: 'POST',
    url,
    headers: {
      cookie: user.browserCookie,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams(form).toString(),
  });
}

async function liveSessionIds(userId: string): Promise<string[]> {
  const rows = await ctx.database.db
    .selectFrom('sessions')
    .select('id')
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
  return rows.map((r) => r.id);
}

async function accountPage(user: PageUser) {
  return ctx.app.inject({
    method: 'GET',
    url: '/account',
    headers: { cookie: user.browserCookie },
  });
}

/** Every new form with a body that would succeed but for its token. */
function forms(user: PageUser, otherSessionId: string): [string, Record<string, string>][] {
  return [
    ['/account/profile', { displayName: 'Forged Name' }],
    ['/account/email', { newEmail: uniqueEmail('forged'), password: STRONG_PASSWORD }],
    [
      '/account/password',
      { currentPassword: STRONG_PASSWORD, newPassword: 'forged-heron-sings-at-7-bridges' },
    ],
    [`/account/sessions/${otherSessionId}/revoke`, {}],
    ['/account/logout-all', {}],
    ['/account/delete', { confirm: 'yes', password: user.password }],
  ];
}

describe('account forms under attack (issue 15)', () => {
  it(
    'each form without `_csrf` or with a foreign one is 403 csrf_failed and changes nothing',
    async () => {
      const victim = await pageUser('Victim Name');
      const attacker = await pageUser('Attacker');
      const second = await login(ctx.app, victim.email, STRONG_PASSWORD);
      const sessionsBefore = (await liveSessionIds(victim.userId)).sort();
      expect(sessionsBefore).toHaveLength(2);
      const other = sessionsBefore.find((id) => id !== victim.sessionId) as string;
      expect(second.userId).toBe(victim.userId);
      const hashBefore = (await userByEmail(ctx.database.db, victim.email))?.password_hash;

      for (const [url, form] of forms(victim, other)) {
        for (const csrf of [undefined, attacker.csrf]) {
          const res = await post(victim, url, csrf === undefined ? form : { ...form, _csrf: csrf });
          expect(res.statusCode, `${url} ${csrf ? 'foreign' : 'missing'}`).toBe(403);
          expect(res.body).toContain('csrf_failed');
          expect(res.headers['content-type']).toMatch(/^text\/html/);
        }
      }
      const after = await userByEmail(ctx.database.db, victim.email);
      expect(after?.deleted_at).toBeNull();
      expect(after?.display_name).toBe('Victim Name');
      expect(after?.password_hash).toBe(hashBefore);
      expect((await liveSessionIds(victim.userId)).sort()).toEqual(sessionsBefore);
      expect(smtp.messages.filter((m) => m.to.some((t) => t.startsWith('forged-')))).toEqual([]);
    },
    BUILD_TIMEOUT_MS,
  );

  it('with its own token, a form works (the refusals above are the token’s)', async () => {
    const user = await pageUser();
    const res = await post(user, '/account/profile', { _csrf: user.csrf, displayName: 'Renamed' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/account?done=profile');
    expect((await userByEmail(ctx.database.db, user.email))?.display_name).toBe('Renamed');
  });

  it('a sign-in older than 5 minutes cannot delete the account or change its address', async () => {
    const user = await pageUser();
    clock.advance(STALE_MS);
    try {
      const attempts: [string, Record<string, string>][] = [
        ['/account/delete', { _csrf: user.csrf, confirm: 'yes', password: STRONG_PASSWORD }],
        [
          '/account/email',
          { _csrf: user.csrf, newEmail: uniqueEmail('stale'), password: STRONG_PASSWORD },
        ],
      ];
      for (const [url, form] of attempts) {
        const res = await post(user, url, form);
        expect(res.statusCode, url).toBe(303);
        expect(res.headers.location).toBe('/account?error=reauthentication_required');
      }
      const shown = await ctx.app.inject({
        method: 'GET',
        url: '/account?error=reauthentication_required',
        headers: { cookie: user.browserCookie },
      });
      expect(shown.body).toContain('<code>reauthentication_required</code>');
      // The password change asks for the current password instead, as the API does: a stale
      // session without it still changes nothing.
      const wrong = await post(user, '/account/password', {
        _csrf: user.csrf,
        currentPassword: 'not-the-password-at-all',
        newPassword: 'stale-heron-sings-at-7-bridges',
      });
      expect(wrong.statusCode).toBe(403);
      expect(wrong.body).toContain('invalid_credentials');
    } finally {
      clock.advance(-STALE_MS);
    }
    const row = await userByEmail(ctx.database.db, user.email);
    expect(row?.deleted_at).toBeNull();
    expect(row?.email).toBe(user.email);
  });

  it("revoking another user's session id is 404 and that session stays live", async () => {
    const victim = await pageUser();
    const attacker = await pageUser();
    const res = await post(attacker, `/account/sessions/${victim.sessionId}/revoke`, {
      _csrf: attacker.csrf,
    });
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('not_found');
    expect(await liveSessionIds(victim.userId)).toEqual([victim.sessionId]);
    expect((await accountPage(victim)).statusCode).toBe(200);
  });

  it('a hostile display name is escaped on /account', async () => {
    const user = await pageUser();
    const hostile = '<img src=x onerror=alert(1)>"><script>alert(2)</script>';
    const set = await post(user, '/account/profile', { _csrf: user.csrf, displayName: hostile });
    expect(set.statusCode).toBe(303);
    const page = await accountPage(user);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('<img src=x');
    expect(page.body).not.toContain('<script>alert');
    expect(page.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('deleting needs the box and the right password; a wrong one counts and refuses', async () => {
    const user = await pageUser();
    const unticked = await post(user, '/account/delete', {
      _csrf: user.csrf,
      password: STRONG_PASSWORD,
    });
    expect(unticked.statusCode).toBe(400);
    expect(unticked.body).toContain('validation_failed');
    const wrong = await post(user, '/account/delete', {
      _csrf: user.csrf,
      confirm: 'yes',
      password: 'not-the-password-at-all',
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.body).toContain('invalid_credentials');
    expect((await userByEmail(ctx.database.db, user.email))?.deleted_at).toBeNull();

    const done = await post(user, '/account/delete', {
      _csrf: user.csrf,
      confirm: 'yes',
      password: STRONG_PASSWORD,
    });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/login?notice=account_deleted');
    expect(await liveSessionIds(user.userId)).toEqual([]);
    const relogin = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: STRONG_PASSWORD },
    });
    expect(relogin.statusCode).toBe(401);
  });

  it('an account with MFA cannot change its password on the page without a code', async () => {
    const user = await pageUser();
    await enrolTotp(ctx.app, user.accessToken, clock);
    const hashBefore = (await userByEmail(ctx.database.db, user.email))?.password_hash;
    const res = await post(user, '/account/password', {
      _csrf: user.csrf,
      currentPassword: STRONG_PASSWORD,
      newPassword: 'mfa-heron-sings-at-7-bridges',
      code: '',
    });
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('mfa_required');
    expect((await userByEmail(ctx.database.db, user.email))?.password_hash).toBe(hashBefore);
    const page = await accountPage(user);
    expect(page.body).toContain('name="code"');
  });
});
