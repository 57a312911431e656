/**
 * The invitation page clicked in a real Chromium (issue 19): the mailed link opens
 * `/accept-invite`, which changes nothing by itself (mail scanners open links); the form with
 * `password` (and its `_csrf`) sets the invitee's password, a weak one names `weak_password` and
 * keeps the link, and the used link names `invalid_token`. Screenshots, axe-core, no CSP
 * violation or script error.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountTestEnv, BUILD_TIMEOUT_MS, userByEmail } from '../../test/support/accounts.js';
import { createAdmin } from '../../test/support/actors.js';
import { login, uniqueEmail } from '../../test/support/auth.js';
import {
  launchChromium,
  type ServedApp,
  screenshot,
  seriousAxeViolations,
  serveApp,
} from '../../test/support/browser.js';
import { extractLink, startTestSmtp, type TestSmtp } from '../../test/support/smtp.js';
import { manualClock } from '../platform/clock.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PASSWORD = 'copper kettles hum below 7 quiet bridges';

let smtp: TestSmtp;
let served: ServedApp;
let browser: Browser;
const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);

beforeAll(async () => {
  smtp = await startTestSmtp();
  served = await serveApp({ env: accountTestEnv(smtp), deps: { clock } });
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await browser?.close();
  await served?.close();
  await smtp?.close();
});

async function checkPage(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  expect(await seriousAxeViolations(page, AXE), `axe on ${name}`).toEqual([]);
}

describe('/accept-invite in Chromium', () => {
  it(
    'the mailed link → the form → the password is set; a weak one and a used link are named',
    async () => {
      const { app, database } = served.ctx;
      const admin = await createAdmin(app, database.db, clock);
      const email = uniqueEmail('invited');
      const invited = await app.inject({
        method: 'POST',
        url: '/admin/users',
        headers: admin.headers,
        payload: { email },
      });
      expect(invited.statusCode, invited.body).toBe(201);
      const mail = await smtp.waitForMail(email, (m) => m.text.includes('/accept-invite'), 15_000);
      const link = extractLink(mail, '/accept-invite');
      expect(link.origin).toBe(served.base);

      const context = await browser.newContext();
      const problems: string[] = [];
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
      const opened = await page.goto(link.href);
      expect(opened?.status()).toBe(200);
      expect(opened?.headers()['cache-control']).toContain('no-store');
      await checkPage(page, 'accept-invite');
      // Opening the link set nothing.
      expect((await userByEmail(database.db, email))?.password_hash).toBeNull();

      await page.locator('#password').fill('passwordpassword');
      await page.getByRole('button', { name: 'Set my password' }).click();
      await expect.poll(() => page.locator('main').textContent()).toContain('weak_password');
      await checkPage(page, 'accept-invite-weak');

      await page.locator('#password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Set my password' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Your account is ready');
      const account = await login(app, email, PASSWORD);
      expect(account.email).toBe(email);

      // The same link again: the page names the API's code.
      await page.goto(link.href);
      await page.locator('#password').fill('marble foxes sleep beside 3 frozen rivers');
      await page.getByRole('button', { name: 'Set my password' }).click();
      await expect.poll(() => page.locator('main').textContent()).toContain('invalid_token');
      expect(problems).toEqual([]);
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );
});
