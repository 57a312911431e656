/**
 * The `/admin` console clicked through in a real Chromium (issue 15): an admin signs in through
 * /login with the TOTP step and lands back on /admin, searches a user, locks them (their login
 * then fails), changes their roles, deletes another after the confirmation page, verifies the
 * audit chain (intact) and reads the security events. A hostile display name stays text. Every
 * page is screenshotted (test-artifacts/screenshots/) and checked with axe-core.
 */
import { describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS } from '../../../test/support/accounts.js';
import { createActor, createAdmin } from '../../../test/support/actors.js';
import { STRONG_PASSWORD } from '../../../test/support/auth.js';
import { checkPage, mailedBrowser, watchedPage } from '../../../test/support/browser.js';
import { freshCode } from '../../../test/support/mfa.js';
import { manualClock } from '../../platform/clock.js';

const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);
const HOSTILE = '<img src=x onerror=document.title="owned">';

const suite = mailedBrowser({ deps: { clock } });

async function apiLoginStatus(email: string): Promise<number> {
  const res = await suite.served.ctx.app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password: STRONG_PASSWORD },
  });
  return res.statusCode;
}

describe('/admin in Chromium', () => {
  it(
    'sign in with TOTP → search → lock → roles → delete → verify the audit chain → security events',
    async () => {
      const { db } = suite.served.ctx.database;
      const admin = await createAdmin(suite.served.ctx.app, db, clock);
      const target = await createActor(suite.served.ctx.app, db, {
        prefix: 'console-target',
        displayName: HOSTILE,
      });
      const doomed = await createActor(suite.served.ctx.app, db, {
        prefix: 'console-doomed',
        displayName: 'Doomed Account',
      });
      expect(await apiLoginStatus(target.email)).toBe(200);

      const context = await suite.browser.newContext();
      const problems: string[] = [];
      const page = await watchedPage(context, problems, { dialogs: true, cspViolations: false });

      // Not signed in: /admin sends the browser to /login, which brings it back after MFA.
      await page.goto(`${suite.base}/admin`);
      await page.waitForURL(`${suite.base}/login?returnTo=%2Fadmin`);
      await page.getByLabel('Email').fill(admin.email);
      await page.getByLabel('Password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Two-step verification');
      await page.getByLabel('Code').fill(freshCode(admin.totpSecret, clock));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL(`${suite.base}/admin`);
      await checkPage(page, 'admin-users');

      // Search, then lock: the notice, the row, and the user's login all say so.
      await page.getByLabel('Search by email or display name').fill(target.email);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.waitForURL(`${suite.base}/admin?query=${encodeURIComponent(target.email)}`);
      const row = page.locator('section.user', { hasText: target.email });
      await expect.poll(() => row.count()).toBe(1);
      expect(await page.locator('section.user').count()).toBe(1);
      // The hostile display name is text, not an element.
      expect(await row.locator('h2').textContent()).toBe(HOSTILE);
      expect(await page.locator('main img').count()).toBe(0);
      await checkPage(page, 'admin-search');

      await row.getByRole('button', { name: `Lock ${target.email}` }).click();
      await expect.poll(() => page.locator('[role=status]').textContent()).toContain('locked');
      expect(page.url()).toContain(`query=${encodeURIComponent(target.email)}`);
      expect(await row.locator('dd').nth(2).textContent()).toBe('yes');
      expect(await apiLoginStatus(target.email)).not.toBe(200);
      await checkPage(page, 'admin-locked');

      // Roles: tick moderator and save.
      await row.getByRole('checkbox', { name: 'moderator' }).check();
      await row.getByRole('button', { name: `Save roles of ${target.email}` }).click();
      await expect.poll(() => page.locator('[role=status]').textContent()).toContain('roles');
      const roles = await db
        .selectFrom('users')
        .select(['roles', 'locked'])
        .where('id', '=', target.userId)
        .executeTakeFirstOrThrow();
      expect(roles).toEqual({ roles: ['moderator'], locked: true });
      expect(await row.locator('dd').nth(1).textContent()).toBe('user, moderator');

      // Delete, through the confirmation page.
      await page.getByLabel('Search by email or display name').fill(doomed.email);
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.getByRole('link', { name: `Delete ${doomed.email}…` }).click();
      await page.waitForURL(`${suite.base}/admin/accounts/${doomed.userId}/delete`);
      await checkPage(page, 'admin-delete');
      await page.getByLabel('Delete this account for good').check();
      await page.getByRole('button', { name: 'Delete the account' }).click();
      await expect.poll(() => page.locator('[role=status]').textContent()).toContain('deleted');
      const gone = await db
        .selectFrom('users')
        .select('deleted_at')
        .where('id', '=', doomed.userId)
        .executeTakeFirstOrThrow();
      expect(gone.deleted_at).not.toBeNull();

      // The audit log lists the changes; the chain verifies.
      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.waitForURL(`${suite.base}/admin/audit-log`);
      const log = (await page.locator('table').textContent()) ?? '';
      expect(log).toContain('admin.user.locked');
      expect(log).toContain('admin.user.roles_changed');
      expect(log).toContain('admin.user.deleted');
      await checkPage(page, 'admin-audit');
      await page.getByRole('button', { name: 'Verify chain' }).click();
      await expect
        .poll(() => page.locator('#chain-report').textContent())
        .toContain('The chain is intact.');
      await checkPage(page, 'admin-audit-verified');

      // Security events: each admin action is one.
      await page.getByRole('link', { name: 'Security events' }).click();
      await page.waitForURL(`${suite.base}/admin/security-log`);
      const events = (await page.locator('table').textContent()) ?? '';
      expect(events).toContain('admin_action');
      expect(events).toContain('admin.user.locked');
      await checkPage(page, 'admin-security-events');

      expect(await page.title()).not.toContain('owned');
      expect(problems).toEqual([]);
      await context.close();
    },
    BUILD_TIMEOUT_MS,
  );
});
