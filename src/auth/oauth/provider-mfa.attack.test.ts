/**
 * A provider login is one factor (issue 16): an account with MFA takes Bastion's second step after
 * it, unless the operator accepts the second factor a provider reports in its signed ID token's
 * `amr` (OAUTH_<NAME>_MFA_AMR). What the provider does not sign, or an operator did not accept,
 * never skips the step.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser } from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { uniqueEmail } from '../../../test/support/auth.js';
import { Browser, type Page, startRogueIssuer } from '../../../test/support/social.js';
import {
  accessToken,
  clientFor,
  expectSignedIn,
  PUBLIC,
  providerEnv,
  signIn,
} from '../../../test/support/social-app.js';
import { ConfigError, loadConfig } from '../../config.js';

const sub = () => `sub-${randomBytes(6).toString('hex')}`;

function expectSecondStep(page: Page) {
  expect(page.status).toBe(302);
  expect(page.location).toMatch(/^\/login\?mfa=1&/);
  expect(page.setCookies.some((c) => c.startsWith('bastion_refresh='))).toBe(false);
}

describe('a provider login as a second factor (issue 16)', () => {
  // Hand-made issuers that sign exactly the claims a test gives them, `amr` included.
  let trusted: Awaited<ReturnType<typeof startRogueIssuer>>;
  let plain: Awaited<ReturnType<typeof startRogueIssuer>>;
  let ctx: TestContext;
  const browser = () => new Browser((url) => (url.origin === PUBLIC ? ctx.app : undefined));

  const mfaAccount = () =>
    insertUser(ctx.database.db, { email: uniqueEmail('amr'), passwordHash: 'x', mfaEnabled: true });

  beforeAll(async () => {
    trusted = await startRogueIssuer(clientFor('trusted'));
    plain = await startRogueIssuer(clientFor('plain'));
    ctx = await createTestApp({
      env: {
        ...providerEnv('trusted', trusted.issuer),
        OAUTH_TRUSTED_MFA_AMR: 'mfa, hwk',
        ...providerEnv('plain', plain.issuer),
      },
    });
  }, 180_000);
  afterAll(async () => {
    await ctx?.close();
    await trusted?.close();
    await plain?.close();
  });

  it('an accepted `amr` in the signed ID token signs an MFA account in, and the session says mfa', async () => {
    const local = await mfaAccount();
    trusted.as({ sub: sub(), email: local.email, email_verified: true, amr: ['pwd', 'mfa'] });
    const b = browser();
    expectSignedIn((await signIn(b, 'trusted')).page);
    const claims = decodeJwt(await accessToken(ctx.app, b));
    expect(claims.sub).toBe(local.id);
    // A second factor on a provider's first (migration 0019): `mfa`, as after Bastion's own MFA
    // step on a social login, and never `pwd`, since no password was proved here.
    expect(claims.amr).toEqual(['fed', 'mfa']);
  });

  it('an `amr` the operator did not list still takes the second step', async () => {
    const local = await mfaAccount();
    trusted.as({ sub: sub(), email: local.email, email_verified: true, amr: ['pwd'] });
    expectSecondStep((await signIn(browser(), 'trusted')).page);
  });

  it('no `amr` at all takes the second step', async () => {
    const local = await mfaAccount();
    trusted.as({ sub: sub(), email: local.email, email_verified: true });
    expectSecondStep((await signIn(browser(), 'trusted')).page);
  });

  it('a provider the operator did not trust never skips the step, whatever its token says', async () => {
    const local = await mfaAccount();
    plain.as({ sub: sub(), email: local.email, email_verified: true, amr: ['mfa', 'hwk'] });
    expectSecondStep((await signIn(browser(), 'plain')).page);
  });

  it('settings: GitHub has no ID token to trust, and values are RFC 8176 tokens', () => {
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(
      refused({
        OAUTH_GITHUB_CLIENT_ID: 'id',
        OAUTH_GITHUB_CLIENT_SECRET: 'secret',
        OAUTH_GITHUB_MFA_AMR: 'mfa',
      }),
    ).toContain('OAUTH_GITHUB_MFA_AMR');
    expect(
      refused({
        OAUTH_CORP_ISSUER: 'https://idp.example.com',
        OAUTH_CORP_CLIENT_ID: 'id',
        OAUTH_CORP_CLIENT_SECRET: 'secret',
        OAUTH_CORP_MFA_AMR: 'mfa,<script>',
      }),
    ).toContain('OAUTH_CORP_MFA_AMR');
    const config = loadConfig({
      OAUTH_CORP_ISSUER: 'https://idp.example.com',
      OAUTH_CORP_CLIENT_ID: 'id',
      OAUTH_CORP_CLIENT_SECRET: 'secret',
      OAUTH_CORP_MFA_AMR: 'mfa,hwk',
    });
    expect(config.oauthProviders[0]?.mfaAmr).toEqual(['mfa', 'hwk']);
  });
});
