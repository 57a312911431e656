/**
 * POST /auth/email/change → /auth/email/confirm (issue 19; DESIGN.md "Account lifecycle"): the
 * change waits for the link, the new address is normalized like at register and counts as
 * verified, the other sessions end, the old address is told with a revert link, social identities
 * stay with the account, audit entries and a lifecycle event; and each refusal.
 */
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  expectProblem,
  post,
  userByEmail,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, login, signUp, uniqueEmail } from '../../../test/support/auth.js';
import {
  auditActions,
  CONFIRM_PATH,
  changeEmail,
  confirmEmail,
  mailedToken,
  mailsTo,
  REVERT_PATH,
  revertEmail,
  waitForLinkMail,
} from '../../../test/support/email-change.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { me, refresh } from '../../../test/support/tokens.js';
import { manualClock } from '../../platform/clock.js';

describe('email change', () => {
  const clock = manualClock();
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

  it('change → confirm: the new address (normalized, verified) replaces the old one; the other sessions end, the asking one stays; the old address gets a revert link', async () => {
    const owner = await signUp(ctx.app, smtp);
    const other = await login(ctx.app, owner.email, owner.password);
    const local = uniqueEmail('Moved').split('@')[0];
    const typed = `  ${local}@Example.TEST `;
    const expected = `${local}@example.test`;

    const res = await changeEmail(ctx.app, owner.accessToken, {
      newEmail: typed,
      password: owner.password,
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ status: 'confirmation_sent' });
    expect(res.headers['cache-control']).toContain('no-store');

    // Nothing changes until the link is followed.
    const token = await mailedToken(smtp, expected, CONFIRM_PATH);
    expect((await me(ctx.app, owner.accessToken)).json().user.email).toBe(owner.email);
    await expect(login(ctx.app, expected, owner.password)).rejects.toThrow(/401/);

    const confirmed = await confirmEmail(ctx.app, token);
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    const { user } = confirmed.json();
    expect(user).toMatchObject({ id: owner.userId, email: expected, emailVerified: true });

    // The asking session lives on; the other one ended, its refresh and access token refused.
    expect((await me(ctx.app, owner.accessToken)).json().user.email).toBe(expected);
    expect((await refresh(ctx.app, owner.cookie, owner.csrfToken)).statusCode).toBe(200);
    expectProblem(await me(ctx.app, other.accessToken), 401, 'unauthorized');
    expectProblem(await refresh(ctx.app, other.cookie, other.csrfToken), 401, 'unauthorized');

    // Sign-in is with the new address now; the old one is told, with its revert link.
    expect((await login(ctx.app, expected, owner.password)).userId).toBe(owner.userId);
    await expect(login(ctx.app, owner.email, owner.password)).rejects.toThrow(/401/);
    const notice = await waitForLinkMail(smtp, owner.email, REVERT_PATH);
    expect(notice.subject).toBe('Your email address was changed');
    expect(notice.text).not.toContain(expected);

    expect(await auditActions(ctx.database.db, owner.userId)).toEqual(
      expect.arrayContaining(['account.email_change_requested', 'account.email_changed']),
    );
    const events = await ctx.database.db
      .selectFrom('lifecycle_events')
      .select(['type', 'data'])
      .where('user_id', '=', owner.userId)
      .where('type', '=', 'user.email_changed')
      .execute();
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0]?.data)).not.toMatch(/@/);
  });

  it('a newer request replaces the older link: the older one is invalid_token', async () => {
    const owner = await signUp(ctx.app, smtp);
    const first = uniqueEmail('first');
    const second = uniqueEmail('second');
    const body = (newEmail: string) => ({ newEmail, password: owner.password });
    expect((await changeEmail(ctx.app, owner.accessToken, body(first))).statusCode).toBe(202);
    const older = await mailedToken(smtp, first, CONFIRM_PATH);
    expect((await changeEmail(ctx.app, owner.accessToken, body(second))).statusCode).toBe(202);
    const newer = await mailedToken(smtp, second, CONFIRM_PATH);

    expectProblem(await confirmEmail(ctx.app, older), 400, 'invalid_token');
    expect((await userByEmail(ctx.database.db, owner.email))?.id).toBe(owner.userId);
    expect((await confirmEmail(ctx.app, newer)).json().user.email).toBe(second);
  });

  it('social-login identities stay linked to the same account', async () => {
    const owner = await signUp(ctx.app, smtp);
    const now = new Date(clock.now());
    const identityId = uuidv7();
    await ctx.database.db
      .insertInto('identities')
      .values({
        id: identityId,
        user_id: owner.userId,
        provider: 'google',
        issuer: 'https://accounts.example.test',
        subject: `sub-${identityId}`,
        email: owner.email,
        created_at: now,
        last_login_at: now,
      })
      .execute();
    const target = uniqueEmail('social');
    await changeEmail(ctx.app, owner.accessToken, { newEmail: target, password: owner.password });
    const confirmed = await confirmEmail(ctx.app, await mailedToken(smtp, target, CONFIRM_PATH));
    expect(confirmed.statusCode, confirmed.body).toBe(200);

    const identity = await ctx.database.db
      .selectFrom('identities')
      .select(['user_id', 'subject'])
      .where('id', '=', identityId)
      .executeTakeFirst();
    expect(identity).toEqual({ user_id: owner.userId, subject: `sub-${identityId}` });
    const listed = await ctx.app.inject({
      method: 'GET',
      url: '/auth/identities',
      headers: bearer(owner.accessToken),
    });
    expect(listed.json().items.map((i: { id: string }) => i.id)).toEqual([identityId]);
  });

  it('refusals: validation_failed for an address register refuses, unknown keys or the own address; 401 without a bearer', async () => {
    const owner = await signUp(ctx.app, smtp);
    for (const newEmail of [
      'not-an-address',
      'a@b',
      'evil\u202e@example.test',
      'x@exa mple.test',
    ]) {
      expectProblem(
        await changeEmail(ctx.app, owner.accessToken, { newEmail, password: owner.password }),
        400,
        'validation_failed',
      );
    }
    expectProblem(
      await changeEmail(ctx.app, owner.accessToken, {
        newEmail: uniqueEmail(),
        password: owner.password,
        userId: owner.userId,
      }),
      400,
      'validation_failed',
    );
    expectProblem(
      await changeEmail(ctx.app, owner.accessToken, { password: owner.password }),
      400,
      'validation_failed',
    );
    // The own address, in another case: nothing to change.
    expectProblem(
      await changeEmail(ctx.app, owner.accessToken, {
        newEmail: owner.email.toUpperCase(),
        password: owner.password,
      }),
      400,
      'validation_failed',
    );
    expectProblem(
      await post(ctx.app, '/auth/email/change', { newEmail: uniqueEmail(), password: 'x' }),
      401,
      'unauthorized',
    );
    // Confirm and revert: malformed bodies and unknown tokens.
    for (const url of ['/auth/email/confirm', '/auth/email/revert']) {
      expectProblem(await post(ctx.app, url, {}), 400, 'validation_failed');
      expectProblem(await post(ctx.app, url, { token: 'short' }), 400, 'validation_failed');
      expectProblem(
        await post(ctx.app, url, { token: 'A'.repeat(43), extra: 1 }),
        400,
        'validation_failed',
      );
      expectProblem(await post(ctx.app, url, { token: 'A'.repeat(43) }), 400, 'invalid_token');
    }
    // No link was made for any of them.
    const links = await ctx.database.db
      .selectFrom('one_time_tokens')
      .select('purpose')
      .where('user_id', '=', owner.userId)
      .where('purpose', 'in', ['confirm_email', 'revert_email'])
      .execute();
    expect(links).toEqual([]);
    expect((await me(ctx.app, owner.accessToken)).json().user.email).toBe(owner.email);
  });

  it('a confirm token is not a revert token and a revert token is not a confirm token', async () => {
    const owner = await signUp(ctx.app, smtp);
    const target = uniqueEmail('purpose');
    await changeEmail(ctx.app, owner.accessToken, { newEmail: target, password: owner.password });
    const confirm = await mailedToken(smtp, target, CONFIRM_PATH);
    expectProblem(await revertEmail(ctx.app, confirm), 400, 'invalid_token');
    expect((await confirmEmail(ctx.app, confirm)).statusCode).toBe(200);
    const revert = await mailedToken(smtp, owner.email, REVERT_PATH);
    expectProblem(await confirmEmail(ctx.app, revert), 400, 'invalid_token');
    // Neither refusal used the other link up.
    expect((await revertEmail(ctx.app, revert)).statusCode).toBe(204);
    expect(mailsTo(smtp, target).length).toBe(1);
  });

  it('the link pages show a form that POSTs the token with a CSRF token; without it 403 csrf_failed', async () => {
    for (const path of [CONFIRM_PATH, REVERT_PATH]) {
      const page = await ctx.app.inject({ method: 'GET', url: `${path}?token=abc%22def` });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain(`action="${path}"`);
      expect(page.body).toContain('name="_csrf"');
      // Escaped, never echoed raw.
      expect(page.body).toContain('value="abc&quot;def"');
      expect(page.body).not.toMatch(/<script(?![^>]*src=)/);
      expect(page.body).not.toContain('style=');
      const refused = await ctx.app.inject({
        method: 'POST',
        url: path,
        payload: `token=${'A'.repeat(43)}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(refused.statusCode).toBe(403);
      expect(refused.body).toContain('csrf_failed');
    }
  });
});
