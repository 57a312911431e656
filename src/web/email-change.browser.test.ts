/**
 * The email-change link pages clicked in a real Chromium (issue 19): the mailed confirm link
 * opens `/confirm-email`, whose button POSTs the token (with the form's CSRF token) and moves the
 * account; the revert link mailed to the old address opens `/revert-email` and undoes it. Pages
 * are screenshotted and checked with axe-core; no CSP violation or script error may occur.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountTestEnv, BUILD_TIMEOUT_MS, userByEmail } from '../../test/support/accounts.js';
import { login, registerAndVerify, uniqueEmail } from '../../test/support/auth.js';
import {
  launchChromium,
  type ServedApp,
  screenshot,
  seriousAxeViolations,
  serveApp,
} from '../../test/support/browser.js';
import {
  CONFIRM_PATH,
  changeEmail,
  REVERT_PATH,
  waitForLinkMail,
} from '../../test/support/email-change.js';
import { extractLink, startTestSmtp, type TestSmtp } from '../../test/support/smtp.js';
import { me } from '../../test/support/tokens.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let smtp: TestSmtp;
let served: ServedApp;
let browser: Browser;

beforeAll(async () => {
  smtp = await startTestSmtp();
  served = await serveApp({ env: accountTestEnv(smtp) });
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await browser?.close();
  await served?.close();
  await smtp?.close();
});

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

describe('email change pages in Chromium', () => {
  it(
    'the mailed confirm link → button → the address changes; the revert link → button → it is back',
    async () => {
      const app = served.ctx.app;
      const { email, password } = await registerAndVerify(app, smtp);
      const session = await login(app, email, password);
      const target = uniqueEmail('clicked');
      const asked = await changeEmail(app, session.accessToken, { newEmail: target, password });
      expect(asked.statusCode, asked.body).toBe(202);

      const context = await browser.newContext();
      const problems: string[] = [];
      const page = await watchedPage(context, problems);
      const confirmLink = extractLink(
        await waitForLinkMail(smtp, target, CONFIRM_PATH),
        CONFIRM_PATH,
      );
      expect(confirmLink.origin).toBe(served.base);
      const opened = await page.goto(confirmLink.href);
      expect(opened?.status()).toBe(200);
      expect(opened?.headers()['content-security-policy']).not.toMatch(/unsafe-/);
      await checkPage(page, 'confirm-email');
      // Opening the link changed nothing: mail scanners open links too.
      expect((await userByEmail(served.ctx.database.db, email))?.id).toBe(session.userId);

      await page.getByRole('button', { name: 'Confirm my new address' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Address changed');
      expect(await page.locator('main').textContent()).toContain(target);
      await checkPage(page, 'confirm-email-done');
      expect((await userByEmail(served.ctx.database.db, target))?.id).toBe(session.userId);
      expect((await me(app, session.accessToken)).json().user.email).toBe(target);

      const revertLink = extractLink(await waitForLinkMail(smtp, email, REVERT_PATH), REVERT_PATH);
      await page.goto(revertLink.href);
      await checkPage(page, 'revert-email');
      await page.getByRole('button', { name: 'This was not me: undo the change' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('The change is undone');
      expect((await userByEmail(served.ctx.database.db, email))?.id).toBe(session.userId);
      expect((await me(app, session.accessToken)).statusCode).toBe(401);

      // The same link again: the page names the API's code.
      await page.goto(revertLink.href);
      await page.getByRole('button', { name: 'This was not me: undo the change' }).click();
      await expect.poll(() => page.locator('main').textContent()).toContain('invalid_token');
      expect(problems).toEqual([]);
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );
});
