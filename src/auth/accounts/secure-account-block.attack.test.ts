/**
 * "This was not me" (issue 14, item 13): POST /auth/secure-account ended every session and mailed
 * a reset link, but whoever caused the alert logged straight back in with the same password. It
 * now also blocks password login until the owner resets (login answers exactly like a wrong
 * password), and its reset mail no longer says the password "stays as it is". A reset also uses
 * up every other live reset and "this was not me" link (informational item).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  expectProblem,
  linkToken,
  post,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { login, registerAndVerify } from '../../../test/support/auth.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';

const NEW_PASSWORD = 'owner picks a fresh granite kettle 31';

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

const loginRes = (email: string, password: string) =>
  post(ctx.app, '/auth/login', { email, password });

/** A verified account and the "this was not me" token of its first new-device notice. */
async function alertedAccount() {
  const { email, password } = await registerAndVerify(ctx.app, smtp);
  await login(ctx.app, email, password);
  const notMe = linkToken(await waitForAccountMail(smtp, email, 'newDevice'), 'newDevice');
  return { email, password, notMe };
}

/** The problem body without its per-request fields. */
function problemShape(res: Awaited<ReturnType<typeof loginRes>>) {
  const { requestId: _id, ...rest } = res.json() as Record<string, unknown>;
  return { status: res.statusCode, body: rest };
}

describe('"this was not me" blocks password login until a reset (item 13)', () => {
  it('after secure-account the old password no longer logs in, answering like a wrong one', async () => {
    const { email, password, notMe } = await alertedAccount();
    expect((await post(ctx.app, '/auth/secure-account', { token: notMe })).statusCode).toBe(204);
    const blocked = await loginRes(email, password);
    expectProblem(blocked, 401, 'invalid_credentials');
    expect(problemShape(blocked)).toEqual(
      problemShape(await loginRes(email, 'definitely not the password 42')),
    );
  });

  it('its reset mail does not say the password stays; a reset lifts the block', async () => {
    const { email, password, notMe } = await alertedAccount();
    await post(ctx.app, '/auth/secure-account', { token: notMe });
    const mail = await waitForAccountMail(smtp, email, 'reset');
    expect(mail.text).not.toMatch(/stays as it is/i);
    expect(mail.text).toMatch(/nobody can sign in with your current password/i);
    const reset = await post(ctx.app, '/auth/password/reset', {
      token: linkToken(mail, 'reset'),
      newPassword: NEW_PASSWORD,
    });
    expect(reset.statusCode, reset.body).toBe(204);
    expect((await loginRes(email, NEW_PASSWORD)).statusCode).toBe(200);
    expectProblem(await loginRes(email, password), 401, 'invalid_credentials');
  });

  it('a reset uses up the other live "this was not me" and reset links', async () => {
    const { email, notMe } = await alertedAccount();
    await post(ctx.app, '/auth/password/forgot', { email });
    const first = linkToken(await waitForAccountMail(smtp, email, 'reset'), 'reset');
    const reset = await post(ctx.app, '/auth/password/reset', {
      token: first,
      newPassword: NEW_PASSWORD,
    });
    expect(reset.statusCode, reset.body).toBe(204);
    // The notice mailed before the reset can no longer sign the owner out and block them.
    expectProblem(
      await post(ctx.app, '/auth/secure-account', { token: notMe }),
      400,
      'invalid_token',
    );
    expect((await loginRes(email, NEW_PASSWORD)).statusCode).toBe(200);
  });
});
