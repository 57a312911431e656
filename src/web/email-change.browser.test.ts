/**
 * The email-change link pages clicked in a real Chromium (issue 19): the mailed confirm link
 * opens `/confirm-email`, whose button POSTs the token (with the form's CSRF token) and moves the
 * account; the revert link mailed to the old address opens `/revert-email` and undoes it. Pages
 * are screenshotted and checked with axe-core; no CSP violation or script error may occur.
 */
import { describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, userByEmail } from '../../test/support/accounts.js';
import { login, registerAndVerify, uniqueEmail } from '../../test/support/auth.js';
import { checkPage, mailedBrowser, watchedPage } from '../../test/support/browser.js';
import {
  CONFIRM_PATH,
  changeEmail,
  REVERT_PATH,
  waitForLinkMail,
} from '../../test/support/email-change.js';
import { extractLink } from '../../test/support/smtp.js';
import { me } from '../../test/support/tokens.js';

const suite = mailedBrowser();

describe('email change pages in Chromium', () => {
  it(
    'the mailed confirm link → button → the address changes; the revert link → button → it is back',
    async () => {
      const app = suite.served.ctx.app;
      const { email, password } = await registerAndVerify(app, suite.smtp);
      const session = await login(app, email, password);
      const target = uniqueEmail('clicked');
      const asked = await changeEmail(app, session.accessToken, { newEmail: target, password });
      expect(asked.statusCode, asked.body).toBe(202);

      const context = await suite.browser.newContext();
      const problems: string[] = [];
      const page = await watchedPage(context, problems);
      const confirmLink = extractLink(
        await waitForLinkMail(suite.smtp, target, CONFIRM_PATH),
        CONFIRM_PATH,
      );
      expect(confirmLink.origin).toBe(suite.served.base);
      const opened = await page.goto(confirmLink.href);
      expect(opened?.status()).toBe(200);
      expect(opened?.headers()['content-security-policy']).not.toMatch(/unsafe-/);
      await checkPage(page, 'confirm-email');
      // Opening the link changed nothing: mail scanners open links too.
      expect((await userByEmail(suite.served.ctx.database.db, email))?.id).toBe(session.userId);

      await page.getByRole('button', { name: 'Confirm my new address' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Address changed');
      expect(await page.locator('main').textContent()).toContain(target);
      await checkPage(page, 'confirm-email-done');
      expect((await userByEmail(suite.served.ctx.database.db, target))?.id).toBe(session.userId);
      expect((await me(app, session.accessToken)).json().user.email).toBe(target);

      const revertLink = extractLink(
        await waitForLinkMail(suite.smtp, email, REVERT_PATH),
        REVERT_PATH,
      );
      await page.goto(revertLink.href);
      await checkPage(page, 'revert-email');
      await page.getByRole('button', { name: 'This was not me: undo the change' }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('The change is undone');
      expect((await userByEmail(suite.served.ctx.database.db, email))?.id).toBe(session.userId);
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
