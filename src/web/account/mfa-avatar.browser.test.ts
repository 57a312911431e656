/**
 * Two-step verification and the avatar on `/account`, clicked through in a real Chromium (issue
 * 15): sign up on the pages (the link arrives on the real SMTP server), enrol TOTP on the page (the
 * secret read from the page, the code computed here), see the recovery codes, log out, sign in
 * with the MFA step, regenerate the codes, upload an avatar and see it, turn MFA off. Every page is
 * screenshotted and checked with axe-core; no CSP violation or script error.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  userByEmail,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import {
  launchChromium,
  type ServedApp,
  screenshot,
  seriousAxeViolations,
  serveApp,
} from '../../../test/support/browser.js';
import { solidImage } from '../../../test/support/images.js';
import { freshCode } from '../../../test/support/mfa.js';
import { extractLink, startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { codeAt } from '../../auth/mfa/totp.js';
import { manualClock } from '../../platform/clock.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);

let smtp: TestSmtp;
let served: ServedApp;
let browser: Browser;
let base: string;

beforeAll(async () => {
  smtp = await startTestSmtp();
  served = await serveApp({ env: accountTestEnv(smtp), deps: { clock } });
  base = served.base;
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await browser?.close();
  await served?.close();
  await smtp?.close();
});

/** A page that records CSP violations and script errors, which must stay empty. */
async function watchedPage(context: BrowserContext, problems: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${msg.text()}`);
    }
  });
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective));",
  );
  return page;
}

async function checkPage(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  expect(await seriousAxeViolations(page, AXE), `axe on ${name}`).toEqual([]);
}

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
      const context = await browser.newContext();
      const problems: string[] = [];
      const page = await watchedPage(context, problems);
      const email = uniqueEmail('mfa-avatar');

      // Sign up on the pages.
      await page.goto(`${base}/register`);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Display name').fill('Ada Twostep');
      await page.getByLabel('Password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Check your mail');
      const verify = await waitForAccountMail(smtp, email, 'verification');
      await page.goto(extractLink(verify, '/verify-email').href);
      await page.getByLabel('Password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Verify my address' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Address verified');
      const signIn = async () => {
        await page.goto(`${base}/login`);
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(STRONG_PASSWORD);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      };
      await signIn();
      await page.waitForURL(`${base}/account`);
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
      expect((await userByEmail(served.ctx.database.db, email))?.mfa_enabled).toBe(true);

      // Log out, then sign in with the password and the MFA step.
      await page.getByRole('link', { name: 'Back to your account' }).click();
      await page.waitForURL(`${base}/account`);
      expect(await page.locator('#mfa-status').textContent()).toContain('On');
      await page.getByRole('button', { name: 'Log out', exact: true }).click();
      await page.waitForURL(`${base}/login`);
      await signIn();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Two-step verification');
      await page.getByLabel('Code').fill(freshCode(secret, clock));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL(`${base}/account`);
      await checkPage(page, 'account-mfa-on');

      // Regenerate the recovery codes: new ones, shown once.
      await page.locator('#regen-code').fill(freshCode(secret, clock));
      await page.getByRole('button', { name: 'Regenerate recovery codes' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Your new recovery codes');
      const second = await recoveryCodes(page);
      expect(second.length).toBe(first.length);
      expect(second.filter((c) => first.includes(c))).toEqual([]);

      // Upload an avatar and see it on the account page.
      await page.goto(`${base}/account`);
      expect(await page.locator('#avatar').count()).toBe(0);
      await page.getByLabel(/^Image/).setInputFiles({
        name: 'me.png',
        mimeType: 'image/png',
        buffer: await solidImage(96, 96),
      });
      await page.getByRole('button', { name: 'Upload avatar' }).click();
      await page.waitForURL(`${base}/account?done=avatar`);
      const avatar = (await userByEmail(served.ctx.database.db, email))?.avatar_url;
      expect(avatar).toMatch(/^\/media\/.+\.webp$/);
      expect(await page.locator('#avatar').getAttribute('src')).toBe(avatar);
      await expect.poll(() => loadedWidth(page, '#avatar')).toBeGreaterThan(0);
      await checkPage(page, 'account-avatar');

      // Turn MFA off (a recent sign-in and a code): every session ends, this one too.
      await page.locator('#disable-code').fill(freshCode(secret, clock));
      await page.getByRole('button', { name: 'Turn off two-step verification' }).click();
      await page.waitForURL(`${base}/login`);
      expect((await userByEmail(served.ctx.database.db, email))?.mfa_enabled).toBe(false);

      expect(problems).toEqual([]);
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );
});
