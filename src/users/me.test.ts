/**
 * The caller's own account (issue 19): `PATCH /users/me` (display name, validated as at register),
 * `GET /users/me/export` and `DELETE /users/me` (both need a recent login), with their audit
 * entries, lifecycle events and the deletion's confirmation mail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  expectProblem,
  MAIL_TIMEOUT_MS,
} from '../../test/support/accounts.js';
import { type Actor, createActor } from '../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../test/support/app.js';
import { bearer, STRONG_PASSWORD } from '../../test/support/auth.js';
import { startTestSmtp, type TestSmtp } from '../../test/support/smtp.js';
import { me, refresh } from '../../test/support/tokens.js';
import { manualClock } from '../platform/clock.js';

const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
let ctx: TestContext;
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: accountTestEnv(smtp), deps: { clock } });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

const fresh = (prefix = 'me') => createActor(ctx.app, ctx.database.db, { prefix });

function patchMe(headers: Record<string, string>, payload: unknown) {
  return ctx.app.inject({ method: 'PATCH', url: '/users/me', headers, payload: payload as object });
}

async function auditOf(userId: string) {
  return ctx.database.db
    .selectFrom('audit_log')
    .select(['action', 'actor_id', 'detail'])
    .where('target_id', '=', userId)
    .orderBy('seq')
    .execute();
}

async function lifecycleOf(userId: string) {
  return ctx.database.db
    .selectFrom('lifecycle_events')
    .select(['type', 'data'])
    .where('user_id', '=', userId)
    .orderBy('id')
    .execute();
}

/** Moves the clock past the 5-minute recent-login window (the 15-minute token stays valid). */
function staleLogin(): void {
  clock.advance(6 * 60_000);
}

describe('PATCH /users/me', () => {
  it('sets the display name (normalized) and answers the self view of GET /users/:id', async () => {
    const user = await fresh();
    const res = await patchMe(user.headers, { displayName: '  Ada Lovelace  ' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().displayName).toBe('Ada Lovelace');
    const view = await ctx.app.inject({ url: `/users/${user.userId}`, headers: user.headers });
    expect(res.json()).toEqual(view.json());
    expect(Object.keys(res.json()).sort()).toEqual(
      [
        'id',
        'email',
        'displayName',
        'roles',
        'emailVerified',
        'mfaEnabled',
        'locked',
        'createdAt',
        'avatarUrl',
      ].sort(),
    );
    expect(await auditOf(user.userId)).toContainEqual({
      action: 'account.profile_updated',
      actor_id: user.userId,
      detail: { fields: ['displayName'] },
    });
    expect(await lifecycleOf(user.userId)).toContainEqual({
      type: 'user.updated',
      data: { fields: ['displayName'] },
    });
  });

  it('refuses what register refuses with 400 validation_failed, and changes nothing', async () => {
    const user = await fresh();
    const bad: unknown[] = [
      {},
      { displayName: '' },
      { displayName: '   ' },
      { displayName: 'x'.repeat(101) },
      { displayName: 'x'.repeat(201) },
      { displayName: 'bell\u0007' },
      { displayName: 'rtl\u202Eoverride' },
      { displayName: 42 },
      // No mass assignment: a body naming anything else is refused whole.
      { displayName: 'Fine', roles: ['admin'] },
      { displayName: 'Fine', email: 'other@example.test' },
    ];
    for (const payload of bad) {
      expectProblem(await patchMe(user.headers, payload), 400, 'validation_failed');
    }
    const row = await ctx.database.db
      .selectFrom('users')
      .select(['display_name', 'roles', 'email'])
      .where('id', '=', user.userId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ display_name: 'Imported User', roles: [], email: user.email });
  });

  it('needs a bearer token: none or a forged one is 401 unauthorized', async () => {
    expectProblem(await patchMe({}, { displayName: 'Nobody' }), 401, 'unauthorized');
    expectProblem(
      await patchMe(bearer('not.a.token'), { displayName: 'Nobody' }),
      401,
      'unauthorized',
    );
  });
});

describe('GET /users/me/export', () => {
  it('answers every section, no-store, for a recent login', async () => {
    const user = await fresh();
    const res = await ctx.app.inject({ url: '/users/me/export', headers: user.headers });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(
      [
        'exportedAt',
        'user',
        'sessions',
        'identities',
        'wallet',
        'orders',
        'ledger',
        'posts',
        'comments',
        'auditEntries',
        'securityEvents',
      ].sort(),
    );
    expect(body.user).toMatchObject({ id: user.userId, email: user.email });
    expect(body.sessions).toHaveLength(1);
    expect(body.sessions[0]).toMatchObject({ current: true, revokedAt: null });
  });

  it('is 401 reauthentication_required once the login is over 5 minutes old', async () => {
    const user = await fresh();
    staleLogin();
    expect((await me(ctx.app, user.accessToken)).statusCode).toBe(200);
    expectProblem(
      await ctx.app.inject({ url: '/users/me/export', headers: user.headers }),
      401,
      'reauthentication_required',
    );
  });

  it('is 401 unauthorized without a token', async () => {
    expectProblem(await ctx.app.inject({ url: '/users/me/export' }), 401, 'unauthorized');
  });
});

describe('DELETE /users/me', () => {
  async function deleteMe(user: Actor) {
    return ctx.app.inject({ method: 'DELETE', url: '/users/me', headers: user.headers });
  }

  it('tombstones the account, ends its sessions, audits, raises user.deleted and mails the old address', async () => {
    const user = await fresh('leaving');
    const res = await deleteMe(user);
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');

    const row = await ctx.database.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', user.userId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      email: `deleted-${user.userId}@deleted.invalid`,
      display_name: 'Deleted user',
      password_hash: null,
      totp_secret_sealed: null,
      locked: true,
    });
    expect(row.deleted_at).not.toBeNull();
    expect(await auditOf(user.userId)).toContainEqual({
      action: 'account.deleted',
      actor_id: user.userId,
      detail: {},
    });
    expect((await lifecycleOf(user.userId)).map((e) => e.type)).toContain('user.deleted');

    expectProblem(await me(ctx.app, user.accessToken), 401, 'unauthorized');
    expectProblem(await refresh(ctx.app, user.cookie, user.csrfToken), 401, 'unauthorized');
    const mail = await smtp.waitForMail(
      user.email,
      (m) => m.subject === 'Your account was deleted',
      MAIL_TIMEOUT_MS,
    );
    // No link: the account is gone, there is nothing to follow.
    expect(mail.text).not.toMatch(/https?:\/\//);
  });

  it('is 401 reauthentication_required once the login is over 5 minutes old; nothing changes', async () => {
    const user = await fresh();
    staleLogin();
    expectProblem(await deleteMe(user), 401, 'reauthentication_required');
    expect((await me(ctx.app, user.accessToken)).statusCode).toBe(200);
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: STRONG_PASSWORD },
    });
    expect(login.statusCode).toBe(200);
  });

  it('is 401 unauthorized without a token', async () => {
    expectProblem(
      await ctx.app.inject({ method: 'DELETE', url: '/users/me' }),
      401,
      'unauthorized',
    );
  });
});
