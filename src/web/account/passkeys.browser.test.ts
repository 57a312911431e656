/**
 * The whole sign-in journey of issue 15 in a real Chromium, through the pages only: register →
 * mail → verify → sign in → /account → set up TOTP (the code computed here) → log out → sign in
 * with the code → add a passkey with the account page's button (Chromium's virtual authenticator
 * over CDP, user verification on) → log out → "Sign in with a passkey" on /login, no address
 * typed → rename and remove the passkey with the page's forms. Every page is screenshotted and
 * checked with axe-core; the scripts must cause no CSP violation. WebAuthn refuses a bare IP
 * address, so the app is served as `http://localhost:<port>`.
 */
import type { CDPSession, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, isMail, MAIL_TIMEOUT_MS } from '../../../test/support/accounts.js';
import { STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import {
  checkPage,
  mailedBrowser,
  signUpOnPages,
  watchedPage,
} from '../../../test/support/browser.js';
import { freshCode } from '../../../test/support/mfa.js';
import { codeAt } from '../../auth/mfa/totp.js';
import { manualClock } from '../../platform/clock.js';

const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);

const suite = mailedBrowser({ deps: { clock }, host: 'localhost' });

async function virtualAuthenticator(cdp: CDPSession): Promise<string> {
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

async function logOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.waitForURL(`${suite.base}/login`);
}

describe('the sign-in journey in Chromium, pages only', () => {
  it(
    'register → verify → sign in → TOTP → sign in with the code → add a passkey → sign in with it alone → rename → remove',
    async () => {
      const context = await suite.browser.newContext();
      const problems: string[] = [];
      try {
        const page = await watchedPage(context, problems, { timeoutMs: 20_000 });
        const cdp = await context.newCDPSession(page);
        const authenticatorId = await virtualAuthenticator(cdp);
        const email = uniqueEmail('journey');

        await signUpOnPages(page, suite, email, 'Grace Journey');

        await page.goto(`${suite.base}/login`);
        // The passkey button shows only where a script and WebAuthn are there: here, both.
        await expect.poll(() => page.locator('#passkey-signin').isVisible()).toBe(true);
        await checkPage(page, 'journey-login');
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(STRONG_PASSWORD);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.waitForURL(`${suite.base}/account`);
        expect(await page.locator('main').textContent()).toContain('No passkey is registered yet');

        // Two-step verification from the account page, the code computed from the shown key.
        await page.getByRole('button', { name: 'Set up two-step verification' }).click();
        const secret = ((await page.locator('#totp-secret').textContent()) ?? '').trim();
        await page.getByLabel('The 6-digit code the app shows').fill(codeAt(secret, clock.now()));
        await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
        await expect.poll(() => page.locator('#recovery-codes li').count()).toBeGreaterThan(0);
        await page.getByRole('link', { name: 'Back to your account' }).click();
        await page.waitForURL(`${suite.base}/account`);
        await logOut(page);

        // Sign in again: the password, then the code step.
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(STRONG_PASSWORD);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.getByLabel('Code').fill(freshCode(secret, clock));
        await page.getByRole('button', { name: 'Verify' }).click();
        await page.waitForURL(`${suite.base}/account`);

        // Add a passkey with the page's button; the virtual authenticator answers.
        await expect.poll(() => page.locator('#passkey-add').isVisible()).toBe(true);
        await expect.poll(() => page.locator('[data-passkey-fallback]').isVisible()).toBe(false);
        await checkPage(page, 'journey-account-mfa');
        await page.getByLabel('Name for the new passkey (optional)').fill('Work laptop');
        await page.getByRole('button', { name: 'Add a passkey' }).click();
        await page.waitForURL(`${suite.base}/account?done=passkey_added`);
        expect(await page.locator('.passkey-name').allTextContents()).toEqual(['Work laptop']);
        const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
        expect(credentials).toHaveLength(1);
        expect(credentials[0]?.isResidentCredential).toBe(true);
        await checkPage(page, 'journey-account-passkey');
        // The owner is told, with the "this was not me" link (the mfaChanged notice).
        const notice = await suite.smtp.waitForMail(
          email,
          (m) => isMail('mfaChanged')(m) && m.text.includes('A passkey was added'),
          MAIL_TIMEOUT_MS,
        );
        expect(notice.subject).toBe('Your sign-in security changed');

        // Log out (the device cookie stays), then the passkey alone signs in: no address typed.
        await logOut(page);
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        await page.waitForURL(`${suite.base}/account`);
        expect(await page.locator('main').textContent()).toContain(email);
        expect(await page.locator('main').textContent()).not.toContain('never');

        // Rename and remove with the plain forms (the sign-in above is recent).
        await page.getByLabel('New name for Work laptop').fill('Old laptop');
        await page.getByRole('button', { name: 'Rename' }).click();
        await page.waitForURL(`${suite.base}/account?done=passkey_renamed`);
        expect(await page.locator('.passkey-name').allTextContents()).toEqual(['Old laptop']);
        await page.getByRole('button', { name: 'Remove passkey Old laptop' }).click();
        await page.waitForURL(`${suite.base}/account?done=passkey_removed`);
        expect(await page.locator('main').textContent()).toContain('No passkey is registered yet');

        // The removed passkey no longer signs in: the authenticator still offers it.
        await logOut(page);
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        await expect
          .poll(() => page.locator('#passkey-error').textContent())
          .toContain('invalid_credentials');
        expect(page.url()).toBe(`${suite.base}/login`);
        await checkPage(page, 'journey-login-passkey-refused');
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    },
    BUILD_TIMEOUT_MS,
  );
});
