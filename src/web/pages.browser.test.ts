/**
 * The hosted pages clicked through in a real Chromium (issue 15): register, read the mail from
 * the real SMTP server, open the verify link, enter the password, sign in, see the account and
 * its sessions, log out, and forgot → reset; the MFA step keeps `returnTo`. Every page is
 * screenshotted (test-artifacts/screenshots/) and checked with axe-core.
 */
import type { BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, waitForAccountMail } from '../../test/support/accounts.js';
import { login, STRONG_PASSWORD, uniqueEmail } from '../../test/support/auth.js';
import { checkPage, mailedBrowser, watchedPage } from '../../test/support/browser.js';
import { enrolTotp, freshCode } from '../../test/support/mfa.js';
import { extractLink } from '../../test/support/smtp.js';
import { manualClock } from '../platform/clock.js';

const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);

const suite = mailedBrowser({ deps: { clock } });

async function cookieNames(context: BrowserContext): Promise<string[]> {
  return (await context.cookies(suite.base)).map((c) => c.name).sort();
}

describe('hosted pages in Chromium', () => {
  it(
    'register → mail → verify with the password → sign in → account → log out; the back button shows nothing',
    async () => {
      const context = await suite.browser.newContext();
      const problems: string[] = [];
      const page = await watchedPage(context, problems);
      const email = uniqueEmail('pages');
      const displayName = 'Ada Pages';

      const registerPage = await page.goto(`${suite.base}/register`);
      expect(registerPage?.status()).toBe(200);
      expect(registerPage?.headers()['content-security-policy']).toContain(
        "frame-ancestors 'none'",
      );
      expect(registerPage?.headers()['content-security-policy']).not.toMatch(/unsafe-/);
      await checkPage(page, 'register');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Display name').fill(displayName);
      await page.getByLabel('Password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Check your mail');
      await checkPage(page, 'register-sent');

      const mail = await waitForAccountMail(suite.smtp, email, 'verification');
      const link = extractLink(mail, '/verify-email');
      expect(link.origin).toBe(suite.base);
      await page.goto(link.href);
      await checkPage(page, 'verify-email');
      await page.getByLabel('Password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Verify my address' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Address verified');
      await page.getByRole('link', { name: 'Sign in' }).click();

      await page.waitForURL(`${suite.base}/login`);
      await checkPage(page, 'login');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(`${suite.base}/account`);
      await checkPage(page, 'account');
      expect(await page.locator('#display-name').textContent()).toBe(displayName);
      const main = (await page.locator('main').textContent()) ?? '';
      expect(main).toContain(email);
      expect(main).toContain('127.0.0.1');
      expect(main).toContain('(this device)');
      expect(main).toMatch(/HeadlessChrome|Chrome/);

      // The same cookies as POST /auth/login: refresh, readable CSRF, device (+ the form cookie).
      const cookies = await context.cookies(suite.base);
      const byName = new Map(cookies.map((c) => [c.name, c]));
      expect(byName.get('bastion_refresh')?.httpOnly).toBe(true);
      expect(byName.get('bastion_refresh')?.sameSite).toBe('Strict');
      expect(byName.get('bastion_csrf')?.httpOnly).toBe(false);
      expect(byName.has('bastion_device')).toBe(true);

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL(`${suite.base}/login`);
      const after = await cookieNames(context);
      expect(after).toContain('bastion_device');
      expect(after).not.toContain('bastion_refresh');
      expect(after).not.toContain('bastion_csrf');

      // no-store: the back button asks the server again, which no longer knows this browser.
      await page.goBack();
      await page.waitForURL(/\/login\?returnTo=%2Faccount$/);
      const back = (await page.content()) ?? '';
      expect(back).not.toContain(email);
      expect(back).not.toContain(displayName);
      expect(problems).toEqual([]);
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'forgot → mailed link → reset → sign in with the new password',
    async () => {
      const context = await suite.browser.newContext();
      const problems: string[] = [];
      const page = await watchedPage(context, problems);
      const email = uniqueEmail('reset');
      await suite.served.ctx.app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email, password: STRONG_PASSWORD, displayName: 'Reset Me' },
      });
      await waitForAccountMail(suite.smtp, email, 'verification');

      await page.goto(`${suite.base}/login`);
      await page.getByRole('link', { name: 'Forgot your password?' }).click();
      await page.waitForURL(`${suite.base}/forgot-password`);
      await checkPage(page, 'forgot-password');
      await page.getByLabel('Email').fill(email);
      await page.getByRole('button', { name: 'Send the link' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Check your mail');

      const mail = await waitForAccountMail(suite.smtp, email, 'reset');
      await page.goto(extractLink(mail, '/reset-password').href);
      await checkPage(page, 'reset-password');
      const newPassword = 'amber-heron-crosses-11-quiet-bridges';
      await page.getByLabel('New password').fill(newPassword);
      await page.getByRole('button', { name: 'Set the new password' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Password changed');

      await page.getByRole('link', { name: 'Sign in' }).click();
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(newPassword);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(`${suite.base}/account`);
      expect(await page.locator('#display-name').textContent()).toBe('Reset Me');
      expect(problems).toEqual([]);
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'a wrong password names invalid_credentials; the MFA step asks for `code` and keeps returnTo',
    async () => {
      const context = await suite.browser.newContext();
      const problems: string[] = [];
      const page = await watchedPage(context, problems);
      const email = uniqueEmail('mfa');
      await suite.served.ctx.app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email, password: STRONG_PASSWORD, displayName: 'Two Step' },
      });
      const mail = await waitForAccountMail(suite.smtp, email, 'verification');
      const token = extractLink(mail, '/verify-email').searchParams.get('token');
      await suite.served.ctx.app.inject({
        method: 'POST',
        url: '/auth/verify-email',
        payload: { token, password: STRONG_PASSWORD },
      });
      const api = await login(suite.served.ctx.app, email, STRONG_PASSWORD);
      const { secret } = await enrolTotp(suite.served.ctx.app, api.accessToken, clock);

      await page.goto(
        `${suite.base}/login?returnTo=${encodeURIComponent('/account?tab=sessions')}`,
      );
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill('not-the-password-at-all');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect
        .poll(() => page.locator('[role=alert]').textContent())
        .toContain('invalid_credentials');
      await checkPage(page, 'login-error');

      await page.getByLabel('Password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Two-step verification');
      await checkPage(page, 'login-mfa');
      expect(await page.locator('input[name=code]').count()).toBe(1);
      await page.getByLabel('Code').fill(freshCode(secret, clock));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL(`${suite.base}/account?tab=sessions`);
      expect(await page.locator('#display-name').textContent()).toBe('Two Step');
      expect(problems).toEqual([]);
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    "a social login's MFA hand-off (/login?mfa=1#mfaToken=…) completes in the page form",
    async () => {
      const context = await suite.browser.newContext();
      const problems: string[] = [];
      const page = await watchedPage(context, problems);
      const email = uniqueEmail('handoff');
      await suite.served.ctx.app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email, password: STRONG_PASSWORD, displayName: 'Hand Off' },
      });
      const mail = await waitForAccountMail(suite.smtp, email, 'verification');
      await suite.served.ctx.app.inject({
        method: 'POST',
        url: '/auth/verify-email',
        payload: {
          token: extractLink(mail, '/verify-email').searchParams.get('token'),
          password: STRONG_PASSWORD,
        },
      });
      const api = await login(suite.served.ctx.app, email, STRONG_PASSWORD);
      const { secret } = await enrolTotp(suite.served.ctx.app, api.accessToken, clock);
      // The first step from this browser (as the social callback would end it): the challenge
      // cookie lands in the browser, the token goes into the fragment.
      const first = await page.request.post(`${suite.base}/auth/login`, {
        data: { email, password: STRONG_PASSWORD },
      });
      expect(first.status()).toBe(401);
      const { mfaToken } = (await first.json()) as { mfaToken: string };
      await page.goto(`${suite.base}/login?mfa=1&returnTo=%2Faccount#mfaToken=${mfaToken}`);
      expect(new URL(page.url()).hash).toBe('');
      await page.getByLabel('Code').fill(freshCode(secret, clock));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL(`${suite.base}/account`);
      expect(await page.locator('#display-name').textContent()).toBe('Hand Off');
      expect(problems).toEqual([]);
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'on a phone-sized screen the pages fit the width (no sideways scrolling)',
    async () => {
      const context = await suite.browser.newContext({
        viewport: { width: 375, height: 740 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
      });
      const page = await watchedPage(context, []);
      for (const [path, name] of [
        ['/login', 'login-phone'],
        ['/register', 'register-phone'],
      ] as const) {
        await page.goto(`${suite.base}${path}`);
        expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
          375,
        );
        await checkPage(page, name);
      }
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'a social login refusal redirected to /login?error= names its code; any other value is not echoed',
    async () => {
      const context = await suite.browser.newContext();
      const page = await watchedPage(context, []);
      await page.goto(`${suite.base}/login?error=oauth_state_invalid`);
      expect(await page.locator('[role=alert]').textContent()).toContain('oauth_state_invalid');
      await page.goto(`${suite.base}/login?error=${encodeURIComponent('Call +1 555 0100 now')}`);
      expect(await page.locator('[role=alert]').count()).toBe(0);
      expect(await page.content()).not.toContain('555 0100');
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'the "this was not me" link explains what it did and what to do next',
    async () => {
      const context = await suite.browser.newContext();
      const page = await watchedPage(context, []);
      const email = uniqueEmail('notme');
      await suite.served.ctx.app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { email, password: STRONG_PASSWORD, displayName: 'Not Me' },
      });
      const verification = await waitForAccountMail(suite.smtp, email, 'verification');
      await suite.served.ctx.app.inject({
        method: 'POST',
        url: '/auth/verify-email',
        payload: {
          token: extractLink(verification, '/verify-email').searchParams.get('token'),
          password: STRONG_PASSWORD,
        },
      });
      // A login from a browser without the device cookie mails a new-device notice.
      await login(suite.served.ctx.app, email, STRONG_PASSWORD);
      const notice = await waitForAccountMail(suite.smtp, email, 'newDevice');
      await page.goto(extractLink(notice, '/secure-account').href);
      await checkPage(page, 'secure-account');
      await page.getByRole('button', { name: /This was not me/ }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Your account is secured');
      const text = (await page.locator('main').textContent()) ?? '';
      expect(text).toContain('signed out every session');
      expect(text).toContain('choose a new password');
      await checkPage(page, 'secure-account-done');
      await waitForAccountMail(suite.smtp, email, 'reset');
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );
});
