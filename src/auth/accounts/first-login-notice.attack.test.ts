/**
 * The first login right after verification mailed "New sign-in to your account" (issue 14,
 * informational): a notice for the browser the owner just verified in teaches owners to ignore
 * the notices. Verification now proves both the mailbox (token) and the password, more than a
 * login does, so it sets the device cookie a login would set; the first login from that browser
 * is a known device. A browser that only registered gets nothing: registering a taken address
 * must not hand out a device cookie for someone else's account.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  linkToken,
  mailsTo,
  post,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { cookieHeader, login, STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';

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

describe('no new-device notice for the browser that verified (informational)', () => {
  it('the first login from the verifying browser sends no notice; another browser gets one', async () => {
    const email = uniqueEmail('fresh');
    const registered = await post(ctx.app, '/auth/register', {
      email,
      password: STRONG_PASSWORD,
      displayName: 'Fresh',
    });
    // Registering alone sets no device cookie (the address may belong to someone else).
    expect(registered.headers['set-cookie']).toBeUndefined();
    const token = linkToken(await waitForAccountMail(smtp, email, 'verification'), 'verification');
    const verified = await post(ctx.app, '/auth/verify-email', {
      token,
      password: STRONG_PASSWORD,
    });
    expect(verified.statusCode).toBe(200);
    const browser = cookieHeader(verified.headers['set-cookie']);
    expect(browser).toMatch(/bastion_device=/);

    await login(ctx.app, email, STRONG_PASSWORD, { cookie: browser });
    // Sentinel: a login from a browser without the cookie is noticed; once its notice is here,
    // a notice for the first login (sent earlier, on the same path) would be here too.
    await login(ctx.app, email, STRONG_PASSWORD);
    await waitForAccountMail(smtp, email, 'newDevice');
    expect(mailsTo(smtp, email, 'newDevice')).toHaveLength(1);
  });
});
