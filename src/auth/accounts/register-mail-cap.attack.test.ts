/**
 * Registration mails to one address were uncapped (issue 14, item 6: 6 IPs, 6 mails): anyone
 * could flood a mailbox with "confirm your email" or "someone tried to register" mails. They are
 * now capped per address and hour like reset mails (RATE_LIMIT_REGISTER_MAILS_PER_ADDRESS_HOUR,
 * default 3), counted alike for new and taken addresses, while every request still answers 202.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  insertUser,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { uniqueEmail } from '../../../test/support/auth.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';

let ctx: TestContext;
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({
    env: { ...accountTestEnv(smtp), RATE_LIMIT_REGISTER_MAILS_PER_ADDRESS_HOUR: '3' },
  });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

/** Six registrations of one address, each from its own IP: all answer 202. */
async function registerFromSixIps(email: string): Promise<void> {
  for (let i = 1; i <= 6; i++) {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/register',
      remoteAddress: `198.51.100.${i}`,
      payload: { email, password: 'a long unguessable passphrase 42', displayName: 'Someone' },
    });
    expect(res.statusCode).toBe(202);
  }
}

/** The outbox is empty once every queued mail went out (the worker deletes a row after it). */
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

const mailsTo = (email: string) => smtp.messages.filter((m) => m.to.includes(email));

describe('registration mails are capped per address (item 6)', () => {
  it('a new address: six registrations from six IPs send three mails', async () => {
    const email = uniqueEmail('flooded');
    await registerFromSixIps(email);
    await waitForAccountMail(smtp, email, 'verification');
    await outboxDrained();
    expect(mailsTo(email)).toHaveLength(3);
  });

  it('a taken address: six registrations from six IPs send three mails', async () => {
    const email = uniqueEmail('taken');
    await insertUser(ctx.database.db, { email, passwordHash: 'x' });
    await registerFromSixIps(email);
    await waitForAccountMail(smtp, email, 'alreadyRegistered');
    await outboxDrained();
    expect(mailsTo(email)).toHaveLength(3);
  });
});
