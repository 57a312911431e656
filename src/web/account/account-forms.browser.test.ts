/**
 * The `/account` forms clicked through in a real Chromium (issue 15): sign up on the pages, change
 * the display name, ask for an email change (the link arrives on the real SMTP server), change the
 * password and sign in with the new one, revoke a session another device opened through the API
 * (its tokens stop working), sign out everywhere, and delete the account (then sign-in fails).
 * Every page is screenshotted and checked with axe-core; no CSP violation or script error.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS } from '../../../test/support/accounts.js';
import { bearer, login, STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import {
  checkPage,
  mailedBrowser,
  signUpOnPages,
  watchedPage,
} from '../../../test/support/browser.js';
import { extractLink } from '../../../test/support/smtp.js';
import { manualClock } from '../../platform/clock.js';

const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);

const suite = mailedBrowser({ deps: { clock } });

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto(`${suite.base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${suite.base}/account`);
}

/** A second device signing in through the API: its access token, and whether it still works. */
async function apiDevice(email: string, password: string, agent: string) {
  const session = await login(suite.served.ctx.app, email, password, { 'user-agent': agent });
  return {
    ...session,
    alive: async () =>
      (
        await suite.served.ctx.app.inject({
          method: 'GET',
          url: '/auth/me',
          headers: bearer(session.accessToken),
        })
      ).statusCode === 200,
  };
}

describe('the account forms in Chromium', () => {
  it(
    'display name, email change, password, revoke a session, sign out everywhere, delete',
    async () => {
      const context = await suite.browser.newContext();
      const problems: string[] = [];
      const page = await watchedPage(context, problems);
      const email = uniqueEmail('acct');

      // Sign up on the pages.
      await signUpOnPages(page, suite, email, 'Grace Before');
      await signIn(page, email, STRONG_PASSWORD);
      await checkPage(page, 'account-forms');

      // Display name.
      await page.getByLabel('Display name').fill('Grace After');
      await page.getByRole('button', { name: 'Save display name' }).click();
      await page.waitForURL(`${suite.base}/account?done=profile`);
      expect(await page.locator('#display-name').textContent()).toBe('Grace After');
      expect(await page.getByRole('status').textContent()).toContain('display name was saved');

      // Email change: "check your inbox", and the confirmation link goes to the new address.
      const newEmail = uniqueEmail('acct-new');
      await page.getByLabel('New email address').fill(newEmail);
      await page.locator('#email-password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Change email address' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Check your inbox');
      await checkPage(page, 'account-email-sent');
      const confirm = await suite.smtp.waitForMail(
        newEmail,
        (m) => m.text.includes('/confirm-email'),
        15_000,
      );
      expect(extractLink(confirm, '/confirm-email').origin).toBe(suite.base);
      await page.goto(`${suite.base}/account`);

      // Password: changed on the page, then a sign-in with the new one.
      const newPassword = 'copper-wren-hums-over-12-still-ponds';
      await page.getByLabel('Current password').fill(STRONG_PASSWORD);
      await page.getByLabel('New password').fill(newPassword);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.waitForURL(`${suite.base}/account?done=password`);
      await page.getByRole('button', { name: 'Log out', exact: true }).click();
      await page.waitForURL(`${suite.base}/login`);
      await signIn(page, email, newPassword);

      // Revoke the session a second device opened through the API.
      const other = await apiDevice(email, newPassword, 'SecondDevice/1.0');
      expect(await other.alive()).toBe(true);
      await page.reload();
      expect(await page.locator('tbody tr').filter({ hasText: 'SecondDevice/1.0' }).count()).toBe(
        1,
      );
      await checkPage(page, 'account-two-sessions');
      await page.getByRole('button', { name: /Revoke the session of SecondDevice\/1\.0/ }).click();
      await page.waitForURL(`${suite.base}/account?done=session_revoked`);
      expect(await page.locator('main').textContent()).not.toContain('SecondDevice/1.0');
      expect(await other.alive()).toBe(false);
      expect(await page.locator('main').textContent()).toContain('(this device)');

      // Sign out everywhere: this browser and a third device.
      const third = await apiDevice(email, newPassword, 'ThirdDevice/1.0');
      expect(await third.alive()).toBe(true);
      await page.getByRole('button', { name: 'Sign out everywhere' }).click();
      await page.waitForURL(`${suite.base}/login`);
      expect(await third.alive()).toBe(false);
      await page.goto(`${suite.base}/account`);
      await page.waitForURL(/\/login\?returnTo=%2Faccount$/);

      // Delete the account (a fresh sign-in), then /login says so and sign-in fails.
      await signIn(page, email, newPassword);
      await page.getByLabel('I want to delete my account for good').check();
      await page.locator('#delete-password').fill(newPassword);
      await page.getByRole('button', { name: 'Delete my account' }).click();
      await page.waitForURL(`${suite.base}/login?notice=account_deleted`);
      expect(await page.getByRole('status').textContent()).toContain('Your account was deleted');
      await checkPage(page, 'login-account-deleted');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(newPassword);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect.poll(() => page.locator('main').textContent()).toContain('invalid_credentials');
      expect(page.url()).not.toContain('/account');

      expect(problems).toEqual([]);
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );
});
