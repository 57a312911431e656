/**
 * `POST /auth/verify-email/resend` (issue 19): someone who lost the verification mail gets a
 * fresh link (under LINK_BASE_URL, which may carry a path prefix) that verifies the account and
 * kills the older link; a verified, unknown or deleted address gets nothing, and every request
 * answers the same 202. Malformed bodies are 400 `validation_failed`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  expectProblem,
  insertUser,
  MAIL_TIMEOUT_MS,
  post,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import { type ReceivedMail, startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';

const LINK_BASE = 'https://accounts.example.test/portal';

let ctx: TestContext;
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: { ...accountTestEnv(smtp), LINK_BASE_URL: LINK_BASE } });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

const isVerification = (m: ReceivedMail) => m.text.includes(`${LINK_BASE}/verify-email?token=`);

/** The token of a verification mail's link, which must sit under LINK_BASE_URL. */
function tokenOf(mail: ReceivedMail): string {
  const link = (mail.text.match(/https?:\/\/[^\s<>"']+/g) ?? []).find((u) =>
    u.startsWith(`${LINK_BASE}/verify-email?`),
  );
  if (!link) throw new Error(`no verification link in "${mail.subject}"`);
  const token = new URL(link).searchParams.get('token');
  if (!token) throw new Error('no token in the link');
  return token;
}

function resend(email: unknown, extra: Record<string, unknown> = {}) {
  return post(ctx.app, '/auth/verify-email/resend', { email, ...extra });
}

/** Waits until the worker has handled every queued row (it deletes a row once it is done). */
async function outboxDrained(): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const row = await ctx.database.db
      .selectFrom('mail_outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    if (Number(row.n) === 0) return;
    if (Date.now() > deadline) throw new Error(`outbox still holds ${row.n} rows`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const mailsTo = (email: string) =>
  smtp.messages.filter((m) => m.to.some((r) => r.toLowerCase() === email.toLowerCase()));

describe('POST /auth/verify-email/resend', () => {
  it('an unverified account gets a fresh link that verifies it; the first link dies', async () => {
    const email = uniqueEmail('lost-mail');
    const registered = await post(ctx.app, '/auth/register', {
      email,
      password: STRONG_PASSWORD,
      displayName: 'Lost Mail',
    });
    expect(registered.statusCode).toBe(202);
    const first = await smtp.waitForMail(email, isVerification, MAIL_TIMEOUT_MS);

    const res = await resend(email.toUpperCase());
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ status: 'verification_sent' });
    const second = await smtp.waitForMail(email, isVerification, MAIL_TIMEOUT_MS);
    expect(second.subject).toBe('Confirm your email address');
    expect(tokenOf(second)).not.toBe(tokenOf(first));

    // The older link was replaced: it no longer verifies anything.
    expectProblem(
      await post(ctx.app, '/auth/verify-email', {
        token: tokenOf(first),
        password: STRONG_PASSWORD,
      }),
      400,
      'invalid_token',
    );
    const verified = await post(ctx.app, '/auth/verify-email', {
      token: tokenOf(second),
      password: STRONG_PASSWORD,
    });
    expect(verified.statusCode, verified.body).toBe(200);
    expect(verified.json().user.emailVerified).toBe(true);
    const login = await post(ctx.app, '/auth/login', { email, password: STRONG_PASSWORD });
    expect(login.statusCode, login.body).toBe(200);
  });

  it('a verified, an unknown and a deleted address answer the same 202 and get no mail', async () => {
    const verified = await insertUser(ctx.database.db, {
      email: uniqueEmail('verified'),
      passwordHash: 'x',
    });
    const unknown = uniqueEmail('nobody');
    const deleted = uniqueEmail('gone');
    const gone = await insertUser(ctx.database.db, {
      email: deleted,
      passwordHash: 'x',
      verified: false,
    });
    await ctx.database.db
      .updateTable('users')
      .set({ deleted_at: new Date() })
      .where('id', '=', gone.id)
      .execute();
    const before = {
      verified: mailsTo(verified.email).length,
      unknown: mailsTo(unknown).length,
      deleted: mailsTo(deleted).length,
    };
    const answers = [];
    for (const email of [verified.email, unknown, deleted]) {
      const res = await resend(email);
      answers.push({ status: res.statusCode, body: res.body });
    }
    expect(answers).toEqual(
      Array(3).fill({ status: 202, body: JSON.stringify({ status: 'verification_sent' }) }),
    );
    await outboxDrained();
    expect({
      verified: mailsTo(verified.email).length,
      unknown: mailsTo(unknown).length,
      deleted: mailsTo(deleted).length,
    }).toEqual(before);
  });

  it('a locked unverified account gets no link', async () => {
    const email = uniqueEmail('locked');
    const user = await insertUser(ctx.database.db, {
      email,
      passwordHash: 'x',
      verified: false,
    });
    await ctx.database.db
      .updateTable('users')
      .set({ locked: true })
      .where('id', '=', user.id)
      .execute();
    expect((await resend(email)).statusCode).toBe(202);
    await outboxDrained();
    expect(mailsTo(email)).toEqual([]);
  });

  it('refuses malformed bodies with 400 validation_failed', async () => {
    expectProblem(await post(ctx.app, '/auth/verify-email/resend', {}), 400, 'validation_failed');
    expectProblem(await resend(42), 400, 'validation_failed');
    expectProblem(await resend('ab'), 400, 'validation_failed');
    expectProblem(await resend('x'.repeat(321)), 400, 'validation_failed');
    // No mass assignment: unknown keys are refused.
    expectProblem(
      await resend(uniqueEmail('extra'), { userId: 'someone' }),
      400,
      'validation_failed',
    );
  });

  it('an address that is not one answers 202 and queues nothing', async () => {
    const res = await resend('not an address');
    expect(res.statusCode).toBe(202);
    const rows = await ctx.database.db
      .selectFrom('mail_outbox')
      .select('id')
      .where('email_key', '=', 'not an address')
      .execute();
    expect(rows).toEqual([]);
  });
});
