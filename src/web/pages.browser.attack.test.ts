/**
 * Attacks on the hosted pages in a real Chromium (issue 15): a display name carrying markup is
 * inert on /account; another origin cannot frame any page; a form posted without `_csrf`, with
 * another browser's, or from another site is refused 403 `csrf_failed`; an open-redirect
 * `returnTo` stays on our origin.
 */
import { hash } from '@node-rs/argon2';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, insertUser } from '../../test/support/accounts.js';
import { TEST_ARGON2 } from '../../test/support/app.js';
import { STRONG_PASSWORD, uniqueEmail } from '../../test/support/auth.js';
import {
  launchChromium,
  type ServedApp,
  serveApp,
  serveOtherOrigin,
} from '../../test/support/browser.js';

const PAGES = [
  '/login',
  '/register',
  '/verify-email?token=x',
  '/forgot-password',
  '/reset-password?token=x',
  '/secure-account?token=x',
  '/confirm-email?token=x',
  '/revert-email?token=x',
  '/account',
];
const XSS_NAME = '<img src=x onerror="window.__pwned=1">';

let served: ServedApp;
let browser: Browser;
let base: string;
let passwordHash: string;

beforeAll(async () => {
  served = await serveApp();
  base = served.base;
  browser = await launchChromium();
  passwordHash = await hash(STRONG_PASSWORD, TEST_ARGON2);
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await browser?.close();
  await served?.close();
});

/** A verified account, inserted as an import would. */
async function account(displayName = 'Plain Name'): Promise<string> {
  const email = uniqueEmail('attack');
  await insertUser(served.ctx.database.db, { email, passwordHash, displayName });
  return email;
}

async function signIn(page: Page, email: string, path = '/login'): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(STRONG_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function refreshCookie(context: BrowserContext): Promise<string | undefined> {
  return (await context.cookies(base)).find((c) => c.name === 'bastion_refresh')?.value;
}

describe('hosted pages under attack', () => {
  it(
    'a display name with markup is shown as text on /account: no element, no script',
    async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const email = await account(XSS_NAME);
      await signIn(page, email);
      await page.waitForURL(`${base}/account`);
      expect(await page.locator('#display-name').textContent()).toBe(XSS_NAME);
      expect(await page.locator('#display-name img').count()).toBe(0);
      expect(await page.locator('main img').count()).toBe(0);
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'another origin cannot frame any page (a control page without our headers does load)',
    async () => {
      const control = await serveOtherOrigin('<p id="framed">control</p>');
      const frames = PAGES.map((p, i) => `<iframe id="f${i}" src="${base}${p}"></iframe>`);
      frames.push(`<iframe id="control" src="${control.base}/"></iframe>`);
      const attacker = await serveOtherOrigin(`<!doctype html>${frames.join('')}`);
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${attacker.base}/`, { waitUntil: 'load' });
      const children = page.mainFrame().childFrames();
      expect(children).toHaveLength(PAGES.length + 1);
      const loaded: string[] = [];
      for (const frame of children) {
        const forms = await frame
          .locator('form, #framed')
          .count()
          .catch(() => 0);
        if (forms > 0) loaded.push(frame.url());
      }
      // Only the control page rendered inside the attacker's page.
      expect(loaded).toEqual([`${control.base}/`]);
      await context.close();
      await attacker.close();
      await control.close();
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    "a form without _csrf, with another browser's _csrf, or posted from another site is 403 csrf_failed",
    async () => {
      const email = await account();
      // The attacker's own, valid token, from the attacker's own browser.
      const attackerContext = await browser.newContext();
      const attackerPage = await attackerContext.newPage();
      await attackerPage.goto(`${base}/login`);
      const foreignToken = await attackerPage.locator('input[name=_csrf]').inputValue();
      await attackerContext.close();

      const context = await browser.newContext();
      const page = await context.newPage();
      for (const tamper of [
        "document.querySelector('input[name=_csrf]').remove()",
        `document.querySelector('input[name=_csrf]').value = ${JSON.stringify(foreignToken)}`,
      ]) {
        await page.goto(`${base}/login`);
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(STRONG_PASSWORD);
        await page.evaluate(tamper);
        const [response] = await Promise.all([
          page.waitForResponse(
            (r) => r.url() === `${base}/login` && r.request().method() === 'POST',
          ),
          page.getByRole('button', { name: 'Sign in', exact: true }).click(),
        ]);
        expect(response.status()).toBe(403);
        expect(await page.locator('[role=alert]').textContent()).toContain('csrf_failed');
        expect(await page.locator('main').textContent()).toContain('reload the page');
        expect(await refreshCookie(context)).toBeUndefined();
      }

      // Login CSRF: another site posts the attacker's credentials with the attacker's token.
      const forged = await serveOtherOrigin(
        `<!doctype html><form id="f" method="post" action="${base}/login">` +
          `<input name="email" value="${email}"><input name="password" value="${STRONG_PASSWORD}">` +
          `<input name="_csrf" value="${foreignToken}"></form>` +
          "<script>document.getElementById('f').submit()</script>",
      );
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${base}/login` && r.request().method() === 'POST'),
        page.goto(`${forged.base}/`),
      ]);
      expect(response.status()).toBe(403);
      expect(await response.text()).toContain('csrf_failed');
      expect(await refreshCookie(context)).toBeUndefined();
      await forged.close();
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'a logged-in browser cannot be logged out by another site',
    async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, await account());
      await page.waitForURL(`${base}/account`);
      const token = await page.locator('form[action="/logout"] input[name=_csrf]').inputValue();
      // Even with this browser's own token (say, leaked), another site's post is refused.
      const forged = await serveOtherOrigin(
        `<!doctype html><form id="f" method="post" action="${base}/logout">` +
          `<input name="_csrf" value="${token}"></form>` +
          "<script>document.getElementById('f').submit()</script>",
      );
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${base}/logout`),
        page.goto(`${forged.base}/`),
      ]);
      expect(response.status()).toBe(403);
      expect(await refreshCookie(context)).toBeDefined();
      await page.goto(`${base}/account`);
      expect(page.url()).toBe(`${base}/account`);
      await forged.close();
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );

  it.each([
    '//evil.example',
    'https:evil.example',
    '/\\evil.example',
    'https://evil.example/',
    '/%2F/evil.example',
    '\t//evil.example',
    '/\t/evil.example',
  ])(
    'returnTo=%j lands on our origin, after a login and when already signed in',
    async (returnTo) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, await account(), `/login?returnTo=${encodeURIComponent(returnTo)}`);
      await page.waitForLoadState('load');
      expect(new URL(page.url()).origin).toBe(base);
      // Signed in now: /login redirects at once, and must stay home too.
      await page.goto(`${base}/login?returnTo=${encodeURIComponent(returnTo)}`);
      expect(new URL(page.url()).origin).toBe(base);
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );
});
