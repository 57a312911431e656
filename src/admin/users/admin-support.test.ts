/**
 * The administrator support tools (issue 19, DESIGN.md "Account lifecycle"): invitations and
 * their page, MFA reset, required password reset, resent verification. Each change is audited,
 * raises `admin_action` and records its lifecycle event.
 */
import { describe, expect, it } from 'vitest';
import {
  expectProblem,
  expectWeakPassword,
  linkToken,
  mailsTo,
  userByEmail,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { createActor } from '../../../test/support/actors.js';
import {
  accept,
  adminActionsOn,
  adminPost,
  auditOf,
  invitationToken,
  invite,
  invited,
  lifecycleTypes,
  useSupportWorld,
} from '../../../test/support/admin-support.js';
import { cookieHeader, login, STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import { enrolTotp, startMfaLogin } from '../../../test/support/mfa.js';
import { me, refresh } from '../../../test/support/tokens.js';

const world = useSupportWorld();
const INVITEE_PASSWORD = 'copper kettles hum below 7 quiet bridges';

describe('POST /admin/users (invitation)', () => {
  it('creates an unverified account without a password, mails the link, audits it', async () => {
    const admin = await world.admin();
    const email = uniqueEmail('Invitee');
    const res = await invite(world, admin, { email, roles: ['moderator'] });
    expect(res.statusCode, res.body).toBe(201);
    const user = res.json();
    expect(res.headers.location).toBe(`/users/${user.id}`);
    expect(user).toMatchObject({
      email: email.replace(/@.*/, (d) => d.toLowerCase()),
      roles: ['user', 'moderator'],
      emailVerified: false,
      mfaEnabled: false,
      locked: false,
    });
    const row = await userByEmail(world.ctx.database.db, email);
    expect(row?.password_hash).toBeNull();

    const token = await invitationToken(world, email);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Stored as SHA-256 only, valid 7 days.
    const stored = await world.ctx.database.db
      .selectFrom('one_time_tokens')
      .selectAll()
      .where('user_id', '=', user.id)
      .execute();
    expect(stored).toHaveLength(1);
    expect(stored[0]?.purpose).toBe('invitation');
    expect(stored[0]?.token_hash).not.toContain(token);
    expect(new Date(stored[0]?.expires_at as Date).getTime() - world.clock.now()).toBe(
      7 * 24 * 3600_000,
    );

    const audit = await auditOf(world, user.id);
    expect(audit.map((a) => a.action)).toEqual(['admin.user.invited']);
    expect(audit[0]?.actor_id).toBe(admin.userId);
    expect(await adminActionsOn(world, user.id)).toEqual(['admin.user.invited']);
    expect(await lifecycleTypes(world, user.id)).toEqual(['user.created']);
  });

  it('the invitee sets the password with the link: 200 {user} verified, and can log in', async () => {
    const admin = await world.admin();
    const { id, email, token } = await invited(world, admin);
    // No password yet: nobody can log in.
    expectProblem(
      await world.ctx.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password: INVITEE_PASSWORD },
      }),
      401,
      'invalid_credentials',
    );
    const res = await accept(world, token, INVITEE_PASSWORD);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().user).toMatchObject({ id, emailVerified: true });
    const session = await login(world.ctx.app, email, INVITEE_PASSWORD);
    expect(session.userId).toBe(id);
    expect((await auditOf(world, id)).map((a) => a.action)).toEqual([
      'admin.user.invited',
      'account.invitation_accepted',
    ]);
    expect(await lifecycleTypes(world, id)).toEqual(['user.created', 'user.verified']);
  });

  it('the password policy of register applies, and a refused password leaves the link usable', async () => {
    const admin = await world.admin();
    const { email, token } = await invited(world, admin);
    expectWeakPassword(await accept(world, token, 'passwordpassword'), 'breached');
    expectWeakPassword(await accept(world, token, 'x'.repeat(300)), 'too_long');
    expectWeakPassword(await accept(world, token, 'short'), 'too_short');
    expectWeakPassword(await accept(world, token, `${email}!`), 'contains_personal_info');
    expect((await accept(world, token, INVITEE_PASSWORD)).statusCode).toBe(200);
  });

  it('an address that has an account (any case) is 409 email_taken; a bad one 400', async () => {
    const admin = await world.admin();
    const existing = await createActor(world.ctx.app, world.ctx.database.db, { prefix: 'taken' });
    expectProblem(
      await invite(world, admin, { email: existing.email.toUpperCase() }),
      409,
      'email_taken',
    );
    expectProblem(
      await invite(world, admin, { email: 'not-an-address' }),
      400,
      'validation_failed',
    );
    expectProblem(
      await invite(world, admin, { email: uniqueEmail(), password: STRONG_PASSWORD }),
      400,
      'validation_failed',
    );
  });

  it('the /accept-invite page sets the password through a form with _csrf and `password`', async () => {
    const admin = await world.admin();
    const { email, token } = await invited(world, admin);
    const page = await world.ctx.app.inject({
      url: `/accept-invite?token=${encodeURIComponent(token)}`,
    });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('name="password"');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    expect(csrf).toBeTruthy();
    expect(page.body).toContain(`name="token" value="${token}"`);
    const cookie = cookieHeader(page.headers['set-cookie']);
    const post = (form: Record<string, string>, headers: Record<string, string> = { cookie }) =>
      world.ctx.app.inject({
        method: 'POST',
        url: '/accept-invite',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form).toString(),
      });
    // Without this browser's cookie the token is foreign: 403 csrf_failed, nothing set.
    const forged = await post({ _csrf: csrf ?? '', token, password: INVITEE_PASSWORD }, {});
    expect(forged.statusCode).toBe(403);
    expect(forged.body).toContain('csrf_failed');
    const weak = await post({ _csrf: csrf ?? '', token, password: 'short' });
    expect(weak.statusCode).toBe(400);
    expect(weak.body).toContain('weak_password');
    const done = await post({ _csrf: csrf ?? '', token, password: INVITEE_PASSWORD });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.body).toContain('Your account is ready');
    await login(world.ctx.app, email, INVITEE_PASSWORD);
  });
});

describe('POST /admin/users/:id/reset-mfa', () => {
  it('removes TOTP and recovery codes, ends the sessions, mails the user, audits the reason', async () => {
    const admin = await world.admin();
    const target = await createActor(world.ctx.app, world.ctx.database.db, { prefix: 'lost' });
    await enrolTotp(world.ctx.app, target.accessToken, world.clock);
    await startMfaLogin(world.ctx.app, target.email, STRONG_PASSWORD);

    const res = await adminPost(world, admin, `/admin/users/${target.userId}/reset-mfa`, {
      reason: 'lost phone, identity checked by video call (ticket 4711)',
    });
    expect(res.statusCode, res.body).toBe(204);
    const row = await userByEmail(world.ctx.database.db, target.email);
    expect(row).toMatchObject({ mfa_enabled: false, totp_secret_sealed: null });
    const codes = await world.ctx.database.db
      .selectFrom('mfa_recovery_codes')
      .select('code_hash')
      .where('user_id', '=', target.userId)
      .execute();
    expect(codes).toEqual([]);
    expectProblem(await me(world.ctx.app, target.accessToken), 401, 'unauthorized');
    // The password alone signs in again (no mfa_required), to enrol a new factor.
    await login(world.ctx.app, target.email, STRONG_PASSWORD);
    await waitForAccountMail(world.smtp, target.email, 'mfaChanged');

    const audit = await auditOf(world, target.userId);
    const entry = audit.find((a) => a.action === 'admin.user.mfa_reset');
    expect(entry?.actor_id).toBe(admin.userId);
    expect(JSON.stringify(entry?.detail)).toContain('ticket 4711');
    expect(await adminActionsOn(world, target.userId)).toEqual(['admin.user.mfa_reset']);
    expect(await lifecycleTypes(world, target.userId)).toContain('user.mfa_changed');
  });

  it('needs a reason, and an admin may not reset their own factor (409)', async () => {
    const admin = await world.admin();
    const target = await createActor(world.ctx.app, world.ctx.database.db, { prefix: 'noreason' });
    const url = `/admin/users/${target.userId}/reset-mfa`;
    expectProblem(await adminPost(world, admin, url, {}), 400, 'validation_failed');
    expectProblem(await adminPost(world, admin, url, { reason: '   ' }), 400, 'validation_failed');
    expectProblem(
      await adminPost(world, admin, `/admin/users/${admin.userId}/reset-mfa`, { reason: 'me' }),
      409,
      'cannot_modify_self',
    );
    expectProblem(
      await adminPost(world, admin, '/admin/users/0190a0a0-0000-7000-8000-000000000000/reset-mfa', {
        reason: 'nobody',
      }),
      404,
      'not_found',
    );
  });
});

describe('POST /admin/users/:id/require-password-reset', () => {
  it('ends every session; the right password then gets 403 and a reset link; the reset lifts it', async () => {
    const admin = await world.admin();
    const target = await createActor(world.ctx.app, world.ctx.database.db, { prefix: 'reset' });
    const res = await adminPost(
      world,
      admin,
      `/admin/users/${target.userId}/require-password-reset`,
    );
    expect(res.statusCode, res.body).toBe(204);
    expectProblem(await me(world.ctx.app, target.accessToken), 401, 'unauthorized');
    expectProblem(
      await refresh(world.ctx.app, target.cookie, target.csrfToken),
      401,
      'unauthorized',
    );
    const refused = await world.ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: target.email, password: STRONG_PASSWORD },
    });
    expectProblem(refused, 403, 'password_reset_required');
    expect(refused.headers['set-cookie']).toBeUndefined();
    const mail = await waitForAccountMail(world.smtp, target.email, 'reset');
    const newPassword = 'amber lanterns drift over 5 silent harbors';
    const reset = await world.ctx.app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token: linkToken(mail, 'reset'), newPassword },
    });
    expect(reset.statusCode, reset.body).toBe(204);
    expect(
      (await userByEmail(world.ctx.database.db, target.email))?.password_reset_required_at,
    ).toBeNull();
    await login(world.ctx.app, target.email, newPassword);

    expect((await auditOf(world, target.userId)).map((a) => a.action)).toEqual([
      'admin.user.password_reset_required',
      'account.password_reset',
    ]);
    expect(await adminActionsOn(world, target.userId)).toEqual([
      'admin.user.password_reset_required',
    ]);
    expect(await lifecycleTypes(world, target.userId)).toContain('session.revoked');
  });

  it('an admin may not require it of themselves (409); an unknown id is 404', async () => {
    const admin = await world.admin();
    expectProblem(
      await adminPost(world, admin, `/admin/users/${admin.userId}/require-password-reset`),
      409,
      'cannot_modify_self',
    );
    expectProblem(
      await adminPost(
        world,
        admin,
        '/admin/users/0190a0a0-0000-7000-8000-000000000000/require-password-reset',
      ),
      404,
      'not_found',
    );
  });
});

describe('POST /admin/users/:id/resend-verification', () => {
  it('mails a fresh verification link to an unverified account, which then verifies', async () => {
    const admin = await world.admin();
    const email = uniqueEmail('unverified');
    const registered = await world.ctx.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: STRONG_PASSWORD, displayName: 'Late Reader' },
    });
    expect(registered.statusCode).toBe(202);
    await waitForAccountMail(world.smtp, email, 'verification');
    const user = await userByEmail(world.ctx.database.db, email);
    const res = await adminPost(world, admin, `/admin/users/${user?.id}/resend-verification`);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ status: 'accepted' });
    const mail = await waitForAccountMail(world.smtp, email, 'verification');
    const verified = await world.ctx.app.inject({
      method: 'POST',
      url: '/auth/verify-email',
      payload: { token: linkToken(mail, 'verification'), password: STRONG_PASSWORD },
    });
    expect(verified.statusCode, verified.body).toBe(200);
    const audit = await auditOf(world, user?.id ?? '');
    expect(audit[0]).toMatchObject({ action: 'admin.user.verification_resent' });
    expect(JSON.stringify(audit[0]?.detail)).toContain('verification');
    expect(await adminActionsOn(world, user?.id ?? '')).toEqual(['admin.user.verification_resent']);
  });

  it('a verified account gets nothing (still 202); an invited one gets a fresh invitation', async () => {
    const admin = await world.admin();
    const verified = await createActor(world.ctx.app, world.ctx.database.db, { prefix: 'done' });
    const outboxBefore = await world.ctx.database.db
      .selectFrom('mail_outbox')
      .select('id')
      .where('email_key', '=', verified.email.toLowerCase())
      .execute();
    const res = await adminPost(
      world,
      admin,
      `/admin/users/${verified.userId}/resend-verification`,
    );
    expect(res.statusCode).toBe(202);
    const outboxAfter = await world.ctx.database.db
      .selectFrom('mail_outbox')
      .select('id')
      .where('email_key', '=', verified.email.toLowerCase())
      .execute();
    expect(outboxAfter.length).toBe(outboxBefore.length);
    expect(mailsTo(world.smtp, verified.email, 'verification')).toEqual([]);
    const audit = await auditOf(world, verified.userId);
    expect(audit.at(-1)?.detail).toMatchObject({ sent: 'none' });

    const inv = await invited(world, admin);
    const again = await adminPost(world, admin, `/admin/users/${inv.id}/resend-verification`);
    expect(again.statusCode).toBe(202);
    const fresh = await invitationToken(world, inv.email);
    expect(fresh).not.toBe(inv.token);
    // The older link died with the new one.
    expectProblem(await accept(world, inv.token, INVITEE_PASSWORD), 400, 'invalid_token');
    expect((await accept(world, fresh, INVITEE_PASSWORD)).statusCode).toBe(200);
  });
});
