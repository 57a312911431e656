/**
 * The invitation page clicked in a real Chromium (issue 19): the mailed link opens
 * `/accept-invite`, which changes nothing by itself (mail scanners open links); the form with
 * `password` (and its `_csrf`) sets the invitee's password, a weak one names `weak_password` and
 * keeps the link, and the used link names `invalid_token`. Screenshots, axe-core, no CSP
 * violation or script error.
 */
import { describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, userByEmail } from '../../test/support/accounts.js';
import { createAdmin } from '../../test/support/actors.js';
import { login, uniqueEmail } from '../../test/support/auth.js';
import { checkPage, mailedBrowser, watchedPage } from '../../test/support/browser.js';
import { extractLink } from '../../test/support/smtp.js';
import { manualClock } from '../platform/clock.js';

const PASSWORD = 'copper kettles hum below 7 quiet bridges';

const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);

const suite = mailedBrowser({ deps: { clock } });

describe('/accept-invite in Chromium', () => {
  it(
    'the mailed link → the form → the password is set; a weak one and a used link are named',
    async () => {
      const { app, database } = suite.served.ctx;
      const admin = await createAdmin(app, database.db, clock);
      const email = uniqueEmail('invited');
      const invited = await app.inject({
        method: 'POST',
        url: '/admin/users',
        headers: admin.headers,
        payload: { email },
      });
      expect(invited.statusCode, invited.body).toBe(201);
      const mail = await suite.smtp.waitForMail(
        email,
        (m) => m.text.includes('/accept-invite'),
        15_000,
      );
      const link = extractLink(mail, '/accept-invite');
      expect(link.origin).toBe(suite.served.base);

      const context = await suite.browser.newContext();
      const problems: string[] = [];
      const page = await watchedPage(context, problems);
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
