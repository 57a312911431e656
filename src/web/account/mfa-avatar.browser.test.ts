/**
 * Two-step verification and the avatar on `/account`, clicked through in a real Chromium (issue
 * 15): sign up on the pages (the link arrives on the real SMTP server), enrol TOTP on the page (the
 * secret read from the page, the code computed here), see the recovery codes, log out, sign in
 * with the MFA step, regenerate the codes, upload an avatar and see it, turn MFA off. Every page is
 * screenshotted and checked with axe-core; no CSP violation or script error.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, userByEmail } from '../../../test/support/accounts.js';
import { STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import {
  checkPage,
  mailedBrowser,
  signUpOnPages,
  watchedPage,
} from '../../../test/support/browser.js';
import { solidImage } from '../../../test/support/images.js';
import { freshCode } from '../../../test/support/mfa.js';
import { codeAt } from '../../auth/mfa/totp.js';
import { manualClock } from '../../platform/clock.js';

const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);

const suite = mailedBrowser({ deps: { clock } });

/** The image's decoded width: 0 when the browser (or its CSP) did not load it. */
function loadedWidth(page: Page, selector: string): Promise<number> {
  return page.evaluate(
    `(() => { const i = document.querySelector(${JSON.stringify(selector)}); return i && i.complete ? i.naturalWidth : 0; })()`,
  ) as Promise<number>;
}

async function recoveryCodes(page: Page): Promise<string[]> {
  return (await page.locator('#recovery-codes code').allTextContents()).map((c) => c.trim());
}

describe('two-step verification and the avatar on /account in Chromium', () => {
  it(
    'enrol TOTP, see the codes, sign in with the MFA step, regenerate, upload an avatar, turn off',
    async () => {
      const context = await suite.browser.newContext();
      const problems: string[] = [];
      const page = await watchedPage(context, problems);
      const email = uniqueEmail('mfa-avatar');

      // Sign up on the pages.
      await signUpOnPages(page, suite, email, 'Ada Twostep');
      const signIn = async () => {
        await page.goto(`${suite.base}/login`);
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(STRONG_PASSWORD);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      };
      await signIn();
      await page.waitForURL(`${suite.base}/account`);
      expect(await page.locator('#mfa-status').textContent()).toContain('Off');
      await checkPage(page, 'account-mfa-off');

      // Enrol: the QR code loads under the page CSP; the secret is read from the page.
      await page.getByRole('button', { name: 'Set up two-step verification' }).click();
      await expect
        .poll(() => page.locator('h1').textContent())
        .toBe('Set up two-step verification');
      expect(await loadedWidth(page, '#totp-qr')).toBeGreaterThan(0);
      const secret = ((await page.locator('#totp-secret').textContent()) ?? '').trim();
      expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
      await checkPage(page, 'account-mfa-setup');
      await page.getByLabel('The 6-digit code the app shows').fill(codeAt(secret, clock.now()));
      await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Two-step verification is on');
      const first = await recoveryCodes(page);
      expect(first.length).toBeGreaterThanOrEqual(8);
      await checkPage(page, 'account-mfa-codes');
      expect((await userByEmail(suite.served.ctx.database.db, email))?.mfa_enabled).toBe(true);

      // Log out, then sign in with the password and the MFA step.
      await page.getByRole('link', { name: 'Back to your account' }).click();
      await page.waitForURL(`${suite.base}/account`);
      expect(await page.locator('#mfa-status').textContent()).toContain('On');
      await page.getByRole('button', { name: 'Log out', exact: true }).click();
      await page.waitForURL(`${suite.base}/login`);
      await signIn();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Two-step verification');
      await page.getByLabel('Code').fill(freshCode(secret, clock));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL(`${suite.base}/account`);
      await checkPage(page, 'account-mfa-on');

      // Regenerate the recovery codes: new ones, shown once.
      await page.locator('#regen-code').fill(freshCode(secret, clock));
      await page.getByRole('button', { name: 'Regenerate recovery codes' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Your new recovery codes');
      const second = await recoveryCodes(page);
      expect(second.length).toBe(first.length);
      expect(second.filter((c) => first.includes(c))).toEqual([]);

      // Upload an avatar and see it on the account page.
      await page.goto(`${suite.base}/account`);
      expect(await page.locator('#avatar').count()).toBe(0);
      await page.getByLabel(/^Image/).setInputFiles({
        name: 'me.png',
        mimeType: 'image/png',
        buffer: await solidImage(96, 96),
      });
      await page.getByRole('button', { name: 'Upload avatar' }).click();
      await page.waitForURL(`${suite.base}/account?done=avatar`);
      const avatar = (await userByEmail(suite.served.ctx.database.db, email))?.avatar_url;
      expect(avatar).toMatch(/^\/media\/.+\.webp$/);
      expect(await page.locator('#avatar').getAttribute('src')).toBe(avatar);
      await expect.poll(() => loadedWidth(page, '#avatar')).toBeGreaterThan(0);
      await checkPage(page, 'account-avatar');

      // Turn MFA off (a recent sign-in and a code): every session ends, this one too.
      await page.locator('#disable-code').fill(freshCode(secret, clock));
      await page.getByRole('button', { name: 'Turn off two-step verification' }).click();
      await page.waitForURL(`${suite.base}/login`);
      expect((await userByEmail(suite.served.ctx.database.db, email))?.mfa_enabled).toBe(false);

      expect(problems).toEqual([]);
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );
});
