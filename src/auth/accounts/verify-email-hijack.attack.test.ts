/**
 * Pre-verification hijack (issue 14, item 5): anyone can register someone else's address with
 * their own password and a display name that reads like phishing. The genuine verification mail
 * must not carry that text, and a click on its link alone must not verify the account: whoever
 * verifies must know the account's password (wrong: 401 and the token stays usable).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  expectProblem,
  linkToken,
  post,
  userByEmail,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { registerAndVerify, STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';

const PHISHING_NAME = 'URGENT call +1 555 0100 to keep your account';
const ATTACKER_PASSWORD = 'attacker owns this quiet harbour 77';

let ctx: TestContext;
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: accountTestEnv(smtp) });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

async function attackerRegisters(victim: string): Promise<string> {
  const res = await post(ctx.app, '/auth/register', {
    email: victim,
    password: ATTACKER_PASSWORD,
    displayName: PHISHING_NAME,
  });
  expect(res.statusCode).toBe(202);
  return linkToken(await waitForAccountMail(smtp, victim, 'verification'), 'verification');
}

describe('verification needs the password (item 5)', () => {
  it('the mailed link alone does not verify: the token without the password is refused', async () => {
    const victim = uniqueEmail('victim');
    const token = await attackerRegisters(victim);
    const res = await post(ctx.app, '/auth/verify-email', { token });
    expect(res.statusCode).toBe(400);
    expect((await userByEmail(ctx.database.db, victim))?.email_verified_at).toBeNull();
  });

  it('a wrong password is 401 invalid_credentials and the token stays usable', async () => {
    const victim = uniqueEmail('victim');
    const token = await attackerRegisters(victim);
    // The owner of the mailbox clicks, not knowing the attacker's password.
    expectProblem(
      await post(ctx.app, '/auth/verify-email', { token, password: STRONG_PASSWORD }),
      401,
      'invalid_credentials',
    );
    expect((await userByEmail(ctx.database.db, victim))?.email_verified_at).toBeNull();
    // The token was not burnt: the right password (the registrant's) still works once.
    const ok = await post(ctx.app, '/auth/verify-email', { token, password: ATTACKER_PASSWORD });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().user.emailVerified).toBe(true);
    expectProblem(
      await post(ctx.app, '/auth/verify-email', { token, password: ATTACKER_PASSWORD }),
      400,
      'invalid_token',
    );
  });

  it(
    'wrong passwords count like failed logins of the account: past the free ones it backs off',
    async () => {
      const throttled = await createTestApp({
        env: { ...accountTestEnv(smtp), RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES: '3' },
        database: ctx.database,
      });
      try {
        const victim = uniqueEmail('guessed');
        const res = await post(throttled.app, '/auth/register', {
          email: victim,
          password: ATTACKER_PASSWORD,
          displayName: 'Someone',
        });
        expect(res.statusCode).toBe(202);
        const token = linkToken(
          await waitForAccountMail(smtp, victim, 'verification'),
          'verification',
        );
        const guess = (i: number) =>
          post(throttled.app, '/auth/verify-email', { token, password: `guess number ${i} here` });
        for (let i = 0; i < 3; i++) expectProblem(await guess(i), 401, 'invalid_credentials');
        // The third consecutive failure put the account in backoff and raised the event a burst
        // of failed logins raises (asserted on the record, not on a clock-bound 429).
        const user = await userByEmail(ctx.database.db, victim);
        const events = await ctx.database.db
          .selectFrom('security_events')
          .select('type')
          .where('user_id', '=', user?.id ?? '')
          .execute();
        expect(events.map((e) => e.type)).toContain('account_throttled');
      } finally {
        await throttled.close();
      }
    },
    BUILD_TIMEOUT_MS,
  );

  it('an unknown token is 400 invalid_token, whatever the password', async () => {
    expectProblem(
      await post(ctx.app, '/auth/verify-email', { token: 'A'.repeat(43), password: 'whatever' }),
      400,
      'invalid_token',
    );
  });

  it('the verification mail carries no registrant-chosen text and says what to do if you did not sign up', async () => {
    const victim = uniqueEmail('victim');
    await post(ctx.app, '/auth/register', {
      email: victim,
      password: ATTACKER_PASSWORD,
      displayName: PHISHING_NAME,
    });
    const mail = await waitForAccountMail(smtp, victim, 'verification');
    expect(mail.text).not.toContain('URGENT');
    expect(mail.html).not.toContain('URGENT');
    expect(mail.subject).not.toContain('URGENT');
    expect(mail.text).toMatch(/did not (sign up|create)/i);
  });

  it('"someone tried to register" carries no registrant-chosen text either', async () => {
    const { email } = await registerAndVerify(ctx.app, smtp);
    await post(ctx.app, '/auth/register', {
      email,
      password: ATTACKER_PASSWORD,
      displayName: PHISHING_NAME,
    });
    const mail = await waitForAccountMail(smtp, email, 'alreadyRegistered');
    expect(mail.text).not.toContain('URGENT');
    expect(mail.html).not.toContain('URGENT');
  });

  it('a successful reset verifies the address (the link proved the mailbox)', async () => {
    const victim = uniqueEmail('victim');
    await attackerRegisters(victim);
    expect((await post(ctx.app, '/auth/password/forgot', { email: victim })).statusCode).toBe(202);
    const reset = linkToken(await waitForAccountMail(smtp, victim, 'reset'), 'reset');
    const res = await post(ctx.app, '/auth/password/reset', {
      token: reset,
      newPassword: 'owner takes back the lighthouse 12',
    });
    expect(res.statusCode).toBe(204);
    expect((await userByEmail(ctx.database.db, victim))?.email_verified_at).not.toBeNull();
  });
});
