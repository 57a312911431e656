/**
 * Social login clicked through in a real Chromium (issue 16): "Sign in with Corp" on /login, the
 * real identity provider's own login and consent pages, back to Bastion signed in on /account,
 * which lists the provider; unlinking the last way in is refused on the page; a second provider
 * is linked from the account page through its own pages, after which the first can be unlinked.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS } from '../../../test/support/accounts.js';
import {
  checkPage,
  launchChromium,
  type ServedApp,
  screenshot,
  serveApp,
} from '../../../test/support/browser.js';
import { startIdpWithPages } from '../../../test/support/idp-pages.js';
import type { Peer } from '../../../test/support/social.js';

const CLIENT_ID = 'bastion-corp';
const CLIENT_SECRET = 'secret-corp-0123456789abcdef0123456789abcdef';

let idp: Peer | undefined;
let work: Peer | undefined;
let served: ServedApp;
let browser: Browser;

beforeAll(async () => {
  served = await serveApp({ env: { RATE_LIMIT_OAUTH_PER_MINUTE: '100000' } }, async (base) => {
    idp = await startIdpWithPages({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: `${base}/auth/oauth/corp/callback`,
    });
    work = await startIdpWithPages({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: `${base}/auth/oauth/work/callback`,
    });
    return {
      OAUTH_WORK_ISSUER: work.url,
      OAUTH_WORK_CLIENT_ID: CLIENT_ID,
      OAUTH_WORK_CLIENT_SECRET: CLIENT_SECRET,
      OAUTH_CORP_ISSUER: idp.url,
      OAUTH_CORP_CLIENT_ID: CLIENT_ID,
      OAUTH_CORP_CLIENT_SECRET: CLIENT_SECRET,
    };
  });
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await browser?.close();
  await served?.close();
  await idp?.close();
  await work?.close();
});

describe('social login in Chromium (issue 16)', () => {
  it("signs in through the provider's own login and consent pages and lands on /account", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      const name = `ada${Date.now().toString(36)}`;
      await page.goto(`${served.base}/login`);
      await page.getByRole('link', { name: 'Sign in with Corp' }).click();

      // The identity provider's pages, on its own origin.
      await page.waitForURL((u) => u.href.startsWith(idp?.url ?? '\0'));
      await page.locator('input[name=login]').fill(name);
      await page.locator('input[name=password]').fill('any password the IdP accepts');
      await page.getByRole('button', { name: 'Sign-in' }).click();
      await page.getByRole('button', { name: 'Continue' }).click();

      // Back at Bastion: the callback's page continues to /account, signed in.
      await page.waitForURL(`${served.base}/account`);
      await expect(page.getByRole('heading', { name: 'Your account' }).count()).resolves.toBe(1);
      const providers = page.getByRole('table', { name: /Providers that sign you in/ });
      await expect(providers.textContent()).resolves.toContain(`${name}@people.test`);
      await checkPage(page, 'social-account');

      // The only way into this account (no password): unlinking it is refused, and said why.
      await page.getByRole('button', { name: 'Unlink Corp' }).click();
      await page.waitForURL(`${served.base}/account?error=last_sign_in_method`);
      await expect(page.locator('[role=alert]').textContent()).resolves.toContain(
        'last_sign_in_method',
      );
      await expect(providers.textContent()).resolves.toContain(`${name}@people.test`);

      // Link a second provider from the account page, through its own pages.
      await page.getByRole('button', { name: 'Link Work', exact: true }).click();
      await page.waitForURL((u) => u.href.startsWith(work?.url ?? '\0'));
      await page.locator('input[name=login]').fill(`${name}-at-work`);
      await page.locator('input[name=password]').fill('any password the IdP accepts');
      await page.getByRole('button', { name: 'Sign-in' }).click();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(`${served.base}/account`);
      await expect(providers.textContent()).resolves.toContain(`${name}-at-work@people.test`);
      await expect(
        page.getByRole('button', { name: 'Link Work', exact: true }).count(),
      ).resolves.toBe(0);
      await screenshot(page, 'social-account-linked');

      // With another way in, the first provider can go.
      await page.getByRole('button', { name: 'Unlink Corp' }).click();
      await page.waitForURL(`${served.base}/account`);
      await expect(providers.textContent()).resolves.not.toContain(`${name}@people.test`);
    } finally {
      await context.close();
    }
  }, 120_000);
});
