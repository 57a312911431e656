/**
 * The `/admin` forms (issue 15) do what their API routes do, through the same services: each
 * action leaves the API's audit entry and lands back on the search with its notice; the list
 * pages by cursor; "Verify chain" reports an altered entry as broken, naming it.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountTestEnv, BUILD_TIMEOUT_MS, insertUser } from '../../../test/support/accounts.js';
import { type Actor, createActor, createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { cookieHeader, uniqueEmail } from '../../../test/support/auth.js';
import { enrolTotp } from '../../../test/support/mfa.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { manualClock } from '../../platform/clock.js';

const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);

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

interface AdminBrowser {
  readonly cookie: string;
  readonly csrf: string;
}

/** A fresh admin with TOTP, signed in through the second factor, with /admin's form token. */
async function adminBrowser(): Promise<AdminBrowser> {
  const admin: Actor = await createAdmin(ctx.app, ctx.database.db, clock);
  const page = await ctx.app.inject({
    method: 'GET',
    url: '/admin',
    headers: { cookie: admin.cookie },
  });
  expect(page.statusCode).toBe(200);
  expect(page.headers['cache-control']).toContain('no-store');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  expect(csrf).not.toBe('');
  return { csrf, cookie: `${admin.cookie}; ${cookieHeader(page.headers['set-cookie'])}` };
}

function get(b: AdminBrowser, url: string) {
  return ctx.app.inject({ method: 'GET', url, headers: { cookie: b.cookie } });
}

function post(b: AdminBrowser, url: string, form: Record<string, string>) {
  return ctx.app.inject({
    method: 'POST',
    url,
    headers: {
      cookie: b.cookie,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({ ...form, _csrf: b.csrf }).toString(),
  });
}

async function auditActionsOn(userId: string): Promise<string[]> {
  const rows = await ctx.database.db
    .selectFrom('audit_log')
    .select('action')
    .where('target_id', '=', userId)
    .where('action', 'like', 'admin.%')
    .orderBy('seq')
    .execute();
  return rows.map((r) => r.action);
}

describe('/admin forms (issue 15)', () => {
  it(
    'every action runs its admin service: audit entries, state, notice',
    async () => {
      const admin = await adminBrowser();
      const target = await createActor(ctx.app, ctx.database.db, { prefix: 'acted-on' });
      await enrolTotp(ctx.app, target.accessToken, clock);
      const at = (action: string) => `/admin/accounts/${target.userId}/${action}`;
      const steps: [string, Record<string, string>, string][] = [
        [at('lock'), {}, 'locked'],
        [at('unlock'), {}, 'unlocked'],
        [at('roles'), { roles: 'moderator' }, 'roles'],
        [at('logout-all'), {}, 'logged_out'],
        [at('require-password-reset'), {}, 'password_reset_required'],
        [at('reset-mfa'), { reason: 'lost their phone' }, 'mfa_reset'],
        [at('resend-verification'), {}, 'verification_resent'],
      ];
      for (const [url, form, done] of steps) {
        const res = await post(admin, url, { ...form, query: target.email });
        expect(res.statusCode, url).toBe(303);
        expect(res.headers.location).toBe(
          `/admin?query=${encodeURIComponent(target.email)}&done=${done}`,
        );
        const page = await get(admin, res.headers.location as string);
        expect(page.body).toContain('role="status"');
      }
      expect(await auditActionsOn(target.userId)).toEqual([
        'admin.user.locked',
        'admin.user.unlocked',
        'admin.user.roles_changed',
        'admin.user.sessions_revoked',
        'admin.user.password_reset_required',
        'admin.user.mfa_reset',
        'admin.user.verification_resent',
      ]);
      const row = await ctx.database.db
        .selectFrom('users')
        .select(['roles', 'locked', 'mfa_enabled', 'password_reset_required_at'])
        .where('id', '=', target.userId)
        .executeTakeFirstOrThrow();
      expect(row.roles).toEqual(['moderator']);
      expect(row.locked).toBe(false);
      expect(row.mfa_enabled).toBe(false);
      expect(row.password_reset_required_at).not.toBeNull();
      const reason = await ctx.database.db
        .selectFrom('audit_log')
        .select('detail')
        .where('target_id', '=', target.userId)
        .where('action', '=', 'admin.user.mfa_reset')
        .executeTakeFirstOrThrow();
      expect(reason.detail).toMatchObject({ reason: 'lost their phone' });

      // Unticking every box leaves only the implicit `user`.
      const none = await post(admin, at('roles'), {});
      expect(none.statusCode).toBe(303);
      const after = await ctx.database.db
        .selectFrom('users')
        .select('roles')
        .where('id', '=', target.userId)
        .executeTakeFirstOrThrow();
      expect(after.roles).toEqual([]);

      // A reload of a form's path goes back to the list; an unknown user is a 404 page.
      const reload = await get(admin, at('lock'));
      expect(reload.statusCode).toBe(302);
      expect(reload.headers.location).toBe('/admin');
      const missing = await post(
        admin,
        '/admin/accounts/0190a000-0000-7000-8000-000000000000/lock',
        {},
      );
      expect(missing.statusCode).toBe(404);
      expect(missing.body).toContain('not_found');
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'the search pages by cursor and keeps the query',
    async () => {
      const admin = await adminBrowser();
      const tag = `pager${Date.now().toString(36)}`;
      for (let i = 0; i < 27; i += 1) {
        await insertUser(ctx.database.db, {
          email: uniqueEmail(tag),
          passwordHash: 'x',
          displayName: `${tag} ${i}`,
        });
      }
      const first = await get(admin, `/admin?query=${tag}`);
      expect(first.statusCode).toBe(200);
      expect(first.body.match(/<section class="user"/g)).toHaveLength(25);
      const next = /href="(\/admin\?query=[^"]+&amp;cursor=[^"]+)">Next page/.exec(first.body)?.[1];
      expect(next).toBeDefined();
      const second = await get(admin, (next as string).replaceAll('&amp;', '&'));
      expect(second.statusCode).toBe(200);
      expect(second.body.match(/<section class="user"/g)).toHaveLength(2);
      expect(second.body).not.toContain('Next page');
      expect(second.body).toContain(`${tag} 26`);
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'Verify chain says intact, then names an entry altered in the table',
    async () => {
      const admin = await adminBrowser();
      const intact = await post(admin, '/admin/audit-log/verify', {});
      expect(intact.statusCode).toBe(200);
      expect(intact.body).toContain('The chain is intact.');
      const { db } = ctx.database;
      const victim = await db
        .selectFrom('audit_log')
        .select('id')
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow();
      await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`.execute(db);
      try {
        await sql`UPDATE audit_log SET ip = '203.0.113.9' WHERE id = ${victim.id}`.execute(db);
      } finally {
        await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`.execute(db);
      }
      const broken = await post(admin, '/admin/audit-log/verify', {});
      expect(broken.statusCode).toBe(200);
      expect(broken.body).toContain('The chain is broken.');
      expect(broken.body).toContain(victim.id);
    },
    BUILD_TIMEOUT_MS,
  );
});
