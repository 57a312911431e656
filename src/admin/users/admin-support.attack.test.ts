/**
 * Attacks on the administrator support tools (issue 19): an admin without their own second
 * factor resetting another admin's, callers who are not admins, stale logins; replayed, forged,
 * altered, expired and cross-account invitation links; and a required password reset that a
 * stolen session, a stolen refresh token or a pending MFA challenge cannot outlive, and that
 * tells a wrong password nothing.
 */
import { describe, expect, it } from 'vitest';
import { expectProblem, userByEmail } from '../../../test/support/accounts.js';
import { createActor } from '../../../test/support/actors.js';
import {
  accept,
  adminPost,
  auditOf,
  invited,
  useSupportWorld,
} from '../../../test/support/admin-support.js';
import { login, STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import { enrolTotp, freshCode, postMfaCode, startMfaLogin } from '../../../test/support/mfa.js';
import { me, refresh } from '../../../test/support/tokens.js';

const world = useSupportWorld();
const PASSWORD_A = 'copper kettles hum below 7 quiet bridges';
const PASSWORD_B = 'marble foxes sleep beside 3 frozen rivers';

const routes = (id: string) =>
  [
    { url: '/admin/users', body: { email: uniqueEmail('x') } },
    { url: `/admin/users/${id}/reset-mfa`, body: { reason: 'r' } },
    { url: `/admin/users/${id}/require-password-reset`, body: undefined },
    { url: `/admin/users/${id}/resend-verification`, body: undefined },
  ] as const;

describe('who may use the support tools', () => {
  it('an admin without their own second factor cannot reset another admin’s factor (403)', async () => {
    const victim = await world.admin();
    const noMfa = await createActor(world.ctx.app, world.ctx.database.db, {
      roles: ['admin'],
      prefix: 'admin-nomfa',
    });
    const res = await adminPost(world, noMfa, `/admin/users/${victim.userId}/reset-mfa`, {
      reason: 'social engineering',
    });
    expectProblem(res, 403, 'mfa_enrollment_required');
    expect((await userByEmail(world.ctx.database.db, victim.email))?.mfa_enabled).toBe(true);
    expect((await me(world.ctx.app, victim.accessToken)).statusCode).toBe(200);
  });

  it('an admin whose account lost its factor while the token lives is refused too (403)', async () => {
    const victim = await world.admin();
    const admin = await world.admin();
    // The token still says `otp`; the account no longer has a factor.
    await world.ctx.database.db
      .updateTable('users')
      .set({ mfa_enabled: false })
      .where('id', '=', admin.userId)
      .execute();
    const res = await adminPost(world, admin, `/admin/users/${victim.userId}/reset-mfa`, {
      reason: 'x',
    });
    expectProblem(res, 403, 'mfa_enrollment_required');
    expect((await userByEmail(world.ctx.database.db, victim.email))?.mfa_enabled).toBe(true);
    expect((await auditOf(world, victim.userId)).map((a) => a.action)).not.toContain(
      'admin.user.mfa_reset',
    );
  });

  it('users and moderators get 403, anonymous callers 401, on every support route', async () => {
    const target = await createActor(world.ctx.app, world.ctx.database.db, { prefix: 't' });
    const user = await createActor(world.ctx.app, world.ctx.database.db, { prefix: 'u' });
    const moderator = await createActor(world.ctx.app, world.ctx.database.db, {
      roles: ['moderator'],
      prefix: 'm',
    });
    for (const { url, body } of routes(target.userId)) {
      expectProblem(await adminPost(world, user, url, body), 403, 'forbidden');
      expectProblem(await adminPost(world, moderator, url, body), 403, 'forbidden');
      expectProblem(await adminPost(world, { headers: {} }, url, body), 401, 'unauthorized');
    }
    const row = await userByEmail(world.ctx.database.db, target.email);
    expect(row?.password_reset_required_at).toBeNull();
    expect(await auditOf(world, target.userId)).toEqual([]);
  });

  it('without a recent login: 401 reauthentication_required (resend-verification excepted)', async () => {
    const admin = await world.admin();
    const target = await createActor(world.ctx.app, world.ctx.database.db, { prefix: 'stale' });
    // Six minutes on: the access token (15 min) is valid, the login is not recent.
    world.clock.advance(6 * 60_000);
    for (const { url, body } of routes(target.userId).slice(0, 3)) {
      expectProblem(await adminPost(world, admin, url, body), 401, 'reauthentication_required');
    }
    const resend = await adminPost(
      world,
      admin,
      `/admin/users/${target.userId}/resend-verification`,
    );
    expect(resend.statusCode).toBe(202);
    expect(
      (await userByEmail(world.ctx.database.db, target.email))?.password_reset_required_at,
    ).toBeNull();
  });
});

describe('invitation links', () => {
  it('a replayed link (second accept) fails and the first password stays', async () => {
    const admin = await world.admin();
    const { email, token } = await invited(world, admin);
    expect((await accept(world, token, PASSWORD_A)).statusCode).toBe(200);
    expectProblem(await accept(world, token, PASSWORD_B), 400, 'invalid_token');
    await login(world.ctx.app, email, PASSWORD_A);
    const wrong = await world.ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: PASSWORD_B },
    });
    expectProblem(wrong, 401, 'invalid_credentials');
  });

  it('of two concurrent accepts exactly one wins', async () => {
    const admin = await world.admin();
    const { token } = await invited(world, admin);
    const results = await Promise.all([
      accept(world, token, PASSWORD_A),
      accept(world, token, PASSWORD_B),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 400]);
  });

  it('forged and altered tokens fail, and leave the real link usable', async () => {
    const admin = await world.admin();
    const { id, token } = await invited(world, admin);
    const altered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    expectProblem(await accept(world, altered, PASSWORD_A), 400, 'invalid_token');
    expectProblem(await accept(world, 'A'.repeat(43), PASSWORD_A), 400, 'invalid_token');
    // A verification or reset token is no invitation.
    const other = await world.ctx.database.db
      .selectFrom('one_time_tokens')
      .select('token_hash')
      .where('user_id', '=', id)
      .executeTakeFirstOrThrow();
    expectProblem(await accept(world, other.token_hash, PASSWORD_A), 400, 'invalid_token');
    expectProblem(await accept(world, 'short', PASSWORD_A), 400, 'validation_failed');
    expect((await accept(world, token, PASSWORD_A)).statusCode).toBe(200);
  });

  it('the invitation for A cannot set B’s password', async () => {
    const admin = await world.admin();
    const a = await invited(world, admin);
    const b = await invited(world, admin);
    // No way to name another account in the body.
    for (const extra of [{ email: b.email }, { userId: b.id }]) {
      expectProblem(await accept(world, a.token, PASSWORD_A, extra), 400, 'validation_failed');
    }
    const res = await accept(world, a.token, PASSWORD_A);
    expect(res.json().user.id).toBe(a.id);
    expect((await userByEmail(world.ctx.database.db, b.email))?.password_hash).toBeNull();
    // B's own link still works, and sets B's password only.
    expect((await accept(world, b.token, PASSWORD_B)).json().user.id).toBe(b.id);
    await login(world.ctx.app, a.email, PASSWORD_A);
    await login(world.ctx.app, b.email, PASSWORD_B);
  });

  it('a link cannot replace a password the account already has', async () => {
    const admin = await world.admin();
    const { email, token } = await invited(world, admin);
    // Somebody set a password another way first (here directly, as an import would).
    await world.ctx.database.db
      .updateTable('users')
      .set({ password_hash: 'not-a-real-hash' })
      .where('email_key', '=', email.toLowerCase())
      .execute();
    expectProblem(await accept(world, token, PASSWORD_A), 400, 'invalid_token');
    expect((await userByEmail(world.ctx.database.db, email))?.password_hash).toBe(
      'not-a-real-hash',
    );
  });

  it('an expired link (over 7 days) fails', async () => {
    const admin = await world.admin();
    const fresh = await invited(world, admin);
    const old = await invited(world, admin);
    world.clock.advance(7 * 24 * 3600_000 - 60_000);
    expect((await accept(world, fresh.token, PASSWORD_A)).statusCode).toBe(200);
    world.clock.advance(2 * 60_000);
    expectProblem(await accept(world, old.token, PASSWORD_A), 400, 'invalid_token');
    expect((await userByEmail(world.ctx.database.db, old.email))?.password_hash).toBeNull();
  });
});

describe('a required password reset', () => {
  it('the old refresh token and access token die; a wrong password is still invalid_credentials', async () => {
    const admin = await world.admin();
    const target = await createActor(world.ctx.app, world.ctx.database.db, { prefix: 'stolen' });
    const res = await adminPost(
      world,
      admin,
      `/admin/users/${target.userId}/require-password-reset`,
    );
    expect(res.statusCode).toBe(204);
    expectProblem(
      await refresh(world.ctx.app, target.cookie, target.csrfToken),
      401,
      'unauthorized',
    );
    expectProblem(await me(world.ctx.app, target.accessToken), 401, 'unauthorized');

    const attempt = (email: string, password: string) =>
      world.ctx.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
    const wrong = await attempt(target.email, 'not the password at all, 42 times');
    const unknown = await attempt(uniqueEmail('nobody'), 'not the password at all, 42 times');
    const a = expectProblem(wrong, 401, 'invalid_credentials');
    const b = expectProblem(unknown, 401, 'invalid_credentials');
    // The same body as an unknown address: nothing beyond what a correct password reveals.
    expect({ ...a, requestId: '' }).toEqual({ ...b, requestId: '' });
    expectProblem(await attempt(target.email, STRONG_PASSWORD), 403, 'password_reset_required');
  });

  it('an MFA challenge started before the requirement cannot finish the login', async () => {
    const admin = await world.admin();
    const target = await createActor(world.ctx.app, world.ctx.database.db, { prefix: 'mfa' });
    const { secret } = await enrolTotp(world.ctx.app, target.accessToken, world.clock);
    const challenge = await startMfaLogin(world.ctx.app, target.email, STRONG_PASSWORD);
    const res = await adminPost(
      world,
      admin,
      `/admin/users/${target.userId}/require-password-reset`,
    );
    expect(res.statusCode).toBe(204);
    const done = await postMfaCode(world.ctx.app, challenge, freshCode(secret, world.clock));
    expectProblem(done, 401, 'invalid_mfa_token');
    // With MFA on, the right password still answers password_reset_required, not an MFA step.
    const again = await world.ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: target.email, password: STRONG_PASSWORD },
    });
    expectProblem(again, 403, 'password_reset_required');
  });
});
