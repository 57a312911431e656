/**
 * The `/admin` pages (issue 15) under attack, at the HTTP level: a visitor without a session is
 * sent to /login; a non-admin gets 403 `forbidden` and an admin whose session skipped MFA 403
 * `mfa_enrollment_required` on every page and form; a form without or with a foreign `_csrf` is
 * 403 `csrf_failed`; a sign-in older than 5 minutes changes nothing (401
 * `reauthentication_required`); a hostile display name is escaped in the list; an admin cannot
 * lock, demote or delete themselves (409 `cannot_modify_self` on the page). Nothing changes on
 * any refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountTestEnv, BUILD_TIMEOUT_MS } from '../../../test/support/accounts.js';
import { type Actor, createActor, createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { cookieHeader, login, STRONG_PASSWORD } from '../../../test/support/auth.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { manualClock } from '../../platform/clock.js';

const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);
const STALE_MS = 6 * 60 * 1000;
const HOSTILE = '<img src=x onerror=alert(1)>';

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

interface Browser {
  readonly actor: Actor;
  /** Session cookies plus this browser's form cookie. */
  readonly cookie: string;
  readonly csrf: string;
}

/** Opens /account (any signed-in user may) to get this browser's form cookie and `_csrf`. */
async function browserOf(actor: Actor): Promise<Browser> {
  const page = await ctx.app.inject({
    method: 'GET',
    url: '/account',
    headers: { cookie: actor.cookie },
  });
  expect(page.statusCode).toBe(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  expect(csrf).not.toBe('');
  return { actor, csrf, cookie: `${actor.cookie}; ${cookieHeader(page.headers['set-cookie'])}` };
}

function get(b: Browser | null, url: string) {
  return ctx.app.inject({ method: 'GET', url, headers: b ? { cookie: b.cookie } : {} });
}

function post(b: Browser, url: string, form: Record<string, string | string[]>) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
  return ctx.app.inject({
    method: 'POST',
    url,
    headers: {
      cookie: b.cookie,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: body.toString(),
  });
}

const PAGES = ['/admin', '/admin/audit-log', '/admin/security-log'];

/** Every form aimed at `targetId`, with a body that would succeed but for the refusal tested. */
function changeForms(targetId: string): [string, Record<string, string | string[]>][] {
  const at = (action: string) => `/admin/accounts/${targetId}/${action}`;
  return [
    [at('lock'), {}],
    [at('unlock'), {}],
    [at('roles'), { roles: ['user', 'moderator', 'admin'] }],
    [at('logout-all'), {}],
    [at('require-password-reset'), {}],
    [at('reset-mfa'), { reason: 'lost phone' }],
    [at('resend-verification'), {}],
    [at('delete'), { confirm: 'yes' }],
  ];
}

async function target(displayName = 'Target User') {
  return createActor(ctx.app, ctx.database.db, { prefix: 'target', displayName });
}

async function stateOf(userId: string) {
  const row = await ctx.database.db
    .selectFrom('users')
    .select(['roles', 'locked', 'deleted_at', 'password_reset_required_at', 'mfa_enabled'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  const sessions = await ctx.database.db
    .selectFrom('sessions')
    .select('id')
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
  return { ...row, sessions: sessions.length };
}

async function auditCount(): Promise<number> {
  const row = await ctx.database.db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('/admin pages under attack (issue 15)', () => {
  it(
    'without a session: every page answers 302 to /login with returnTo',
    async () => {
      for (const url of PAGES) {
        const res = await get(null, url);
        expect(res.statusCode, url).toBe(302);
        expect(res.headers.location).toBe(`/login?returnTo=${encodeURIComponent(url)}`);
      }
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'a non-admin (403 forbidden) and an admin without MFA (403 mfa_enrollment_required) get every page and form refused',
    async () => {
      const victim = await target();
      const before = await stateOf(victim.userId);
      const user = await browserOf(await createActor(ctx.app, ctx.database.db, { prefix: 'u' }));
      const moderator = await browserOf(
        await createActor(ctx.app, ctx.database.db, { roles: ['moderator'], prefix: 'mod' }),
      );
      // Holds the role but signed in with the password only.
      const noMfa = await browserOf(
        await createActor(ctx.app, ctx.database.db, { roles: ['admin'], prefix: 'nomfa' }),
      );
      const audits = await auditCount();
      for (const [b, code] of [
        [user, 'forbidden'],
        [moderator, 'forbidden'],
        [noMfa, 'mfa_enrollment_required'],
      ] as const) {
        for (const url of [...PAGES, `/admin/accounts/${victim.userId}/delete`]) {
          const res = await get(b, url);
          expect(res.statusCode, `${code} GET ${url}`).toBe(403);
          expect(res.body).toContain(code);
          expect(res.headers['content-type']).toMatch(/^text\/html/);
          expect(res.headers['cache-control']).toContain('no-store');
          expect(res.body).not.toContain(victim.email);
        }
        for (const [url, form] of [
          ...changeForms(victim.userId),
          ['/admin/audit-log/verify', {}] as [string, Record<string, string>],
        ]) {
          const res = await post(b, url, { ...form, _csrf: b.csrf });
          expect(res.statusCode, `${code} POST ${url}`).toBe(403);
          expect(res.body).toContain(code);
        }
      }
      expect(await stateOf(victim.userId)).toEqual(before);
      expect(await auditCount()).toBe(audits);
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'every form without `_csrf` or with a foreign one is 403 csrf_failed and changes nothing',
    async () => {
      const admin = await browserOf(await createAdmin(ctx.app, ctx.database.db, clock));
      const attacker = await browserOf(await createActor(ctx.app, ctx.database.db));
      const victim = await target();
      const before = await stateOf(victim.userId);
      const audits = await auditCount();
      for (const [url, form] of [
        ...changeForms(victim.userId),
        ['/admin/audit-log/verify', {}] as [string, Record<string, string>],
      ]) {
        for (const csrf of [undefined, attacker.csrf]) {
          const res = await post(admin, url, csrf === undefined ? form : { ...form, _csrf: csrf });
          expect(res.statusCode, `${url} ${csrf ? 'foreign' : 'missing'}`).toBe(403);
          expect(res.body).toContain('csrf_failed');
        }
      }
      // A cross-site post with the right token is refused too (Sec-Fetch-Site).
      const cross = await ctx.app.inject({
        method: 'POST',
        url: `/admin/accounts/${victim.userId}/lock`,
        headers: {
          cookie: admin.cookie,
          'sec-fetch-site': 'cross-site',
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload: new URLSearchParams({ _csrf: admin.csrf }).toString(),
      });
      expect(cross.statusCode).toBe(403);
      expect(cross.body).toContain('csrf_failed');
      expect(await stateOf(victim.userId)).toEqual(before);
      expect(await auditCount()).toBe(audits);
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'a hostile display name is escaped in the user list',
    async () => {
      const admin = await browserOf(await createAdmin(ctx.app, ctx.database.db, clock));
      const victim = await target(HOSTILE);
      const res = await get(admin, `/admin?query=${encodeURIComponent(victim.email)}`);
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(victim.email);
      expect(res.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(res.body).not.toContain('<img');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      // A hostile search is escaped too.
      const search = await get(
        admin,
        `/admin?query=${encodeURIComponent('"><script>x()</script>')}`,
      );
      expect(search.statusCode).toBe(200);
      expect(search.body).not.toContain('<script>x()');
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'an admin cannot lock, demote or delete themselves: the page names cannot_modify_self',
    async () => {
      const admin = await browserOf(await createAdmin(ctx.app, ctx.database.db, clock));
      const self = admin.actor.userId;
      const before = await stateOf(self);
      for (const [url, form] of [
        [`/admin/accounts/${self}/lock`, {}],
        [`/admin/accounts/${self}/roles`, { roles: ['user', 'moderator'] }],
        [`/admin/accounts/${self}/delete`, { confirm: 'yes' }],
        [`/admin/accounts/${self}/require-password-reset`, {}],
        [`/admin/accounts/${self}/reset-mfa`, { reason: 'test' }],
      ] as [string, Record<string, string | string[]>][]) {
        const res = await post(admin, url, { ...form, _csrf: admin.csrf });
        expect(res.statusCode, url).toBe(409);
        expect(res.body).toContain('cannot_modify_self');
        expect(res.body).toContain('Ask another administrator');
        expect(res.headers['content-type']).toMatch(/^text\/html/);
      }
      expect(await stateOf(self)).toEqual(before);
      expect(before.roles).toEqual(['admin']);
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'with a fresh sign-in a lock works (the user can no longer sign in); after 5 minutes nothing changes',
    async () => {
      const admin = await browserOf(await createAdmin(ctx.app, ctx.database.db, clock));
      const locked = await target();
      const res = await post(admin, `/admin/accounts/${locked.userId}/lock`, {
        _csrf: admin.csrf,
        query: locked.email,
      });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe(
        `/admin?query=${encodeURIComponent(locked.email)}&done=locked`,
      );
      expect((await stateOf(locked.userId)).locked).toBe(true);
      expect((await stateOf(locked.userId)).sessions).toBe(0);
      await expect(login(ctx.app, locked.email, STRONG_PASSWORD)).rejects.toThrow(
        /login failed: 40/,
      );

      const victim = await target();
      clock.advance(STALE_MS);
      const before = await stateOf(victim.userId);
      const audits = await auditCount();
      // The pages still open: reading needs no recent sign-in.
      expect((await get(admin, '/admin')).statusCode).toBe(200);
      for (const [url, form] of changeForms(victim.userId)) {
        const stale = await post(admin, url, { ...form, _csrf: admin.csrf });
        expect(stale.statusCode, url).toBe(401);
        expect(stale.body).toContain('reauthentication_required');
      }
      expect(await stateOf(victim.userId)).toEqual(before);
      expect(await auditCount()).toBe(audits);
    },
    BUILD_TIMEOUT_MS,
  );
});
