/**
 * Pre-verification takeover through social login (found while building issue 16): an identity
 * provider that does not verify addresses lets an attacker create an unverified account under
 * someone else's address. When the address's owner later takes the account over by a password
 * reset (the mailed link proves the mailbox), the attacker's identity must not stay linked, or the
 * attacker signs straight into the owner's now-verified account.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  linkToken,
  userByEmail,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { Browser, startIdp } from '../../../test/support/social.js';
import {
  clientFor,
  expectRefused,
  identitiesOf,
  PUBLIC,
  providerEnv,
  signIn,
} from '../../../test/support/social-app.js';

describe('attack: squatting an address through a provider that does not verify it', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let smtp: TestSmtp;
  let ctx: TestContext;
  const browser = () => new Browser((url) => (url.origin === PUBLIC ? ctx.app : undefined));

  beforeAll(async () => {
    smtp = await startTestSmtp();
    idp = await startIdp(clientFor('idp'));
    ctx = await createTestApp({
      env: { ...accountTestEnv(smtp), ...providerEnv('idp', idp.issuer) },
    });
  }, 180_000);
  afterAll(async () => {
    await ctx?.close();
    await idp?.close();
    await smtp?.close();
  });

  it("the owner's password reset unlinks the squatter's identity; the squatter is refused after", async () => {
    const email = uniqueEmail('victim');
    const squatter = { sub: `sub-${randomBytes(6).toString('hex')}`, email, email_verified: false };
    idp.as(squatter);
    await signIn(browser(), 'idp');
    const squatted = await userByEmail(ctx.database.db, email);
    expect(squatted?.email_verified_at).toBeNull();
    expect(await identitiesOf(ctx.database.db, squatter.sub)).toHaveLength(1);

    // The owner of the mailbox resets the password: the link proves the address.
    await ctx.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } });
    const mail = await waitForAccountMail(smtp, email, 'reset');
    const reset = await ctx.app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token: linkToken(mail, 'reset'), newPassword: STRONG_PASSWORD },
    });
    expect(reset.statusCode).toBe(204);
    expect((await userByEmail(ctx.database.db, email))?.email_verified_at).not.toBeNull();

    expect(await identitiesOf(ctx.database.db, squatter.sub)).toHaveLength(0);
    idp.as(squatter);
    expectRefused((await signIn(browser(), 'idp')).page, 'oauth_email_unverified');
    expect(await identitiesOf(ctx.database.db, squatter.sub)).toHaveLength(0);
  });
});
