/**
 * Issue 14, item 2: logout must not delete the device cookie. `Clear-Site-Data: "cookies"` makes a
 * browser drop every cookie of the site, the device cookie included, after which an attacker's
 * wrong guesses put the owner back into the per-account backoff (and sibling apps on the same
 * site are logged out too). Proven in a real Chromium, which honours the header.
 */
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_COOKIE, WRONG_PASSWORD } from '../support/abuse.js';
import { accountTestEnv, BUILD_TIMEOUT_MS } from '../support/accounts.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { bearer, cookieValue, registerAndVerify } from '../support/auth.js';
import { launchChromium } from '../support/browser.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';

let smtp: TestSmtp;
let ctx: TestContext;
let browser: Browser;
let base: string;
beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({
    env: {
      ...accountTestEnv(smtp),
      // The real per-account backoff: from the 3rd consecutive failure.
      RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES: '3',
    },
  });
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
  await smtp?.close();
});

/** A same-origin fetch from the page, as the site's own script would make it. */
async function call(
  page: import('playwright-core').Page,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  return page.evaluate(
    async ({ path, init }) => {
      const res = await fetch(path, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...init.headers,
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await res.text();
      return {
        status: res.status,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
      };
    },
    { path, init },
  );
}

describe('attack: logout as a lever to strip the device cookie (issue 14, item 2)', () => {
  it('after logout the browser keeps its device cookie and still logs in past an attacker’s backoff', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // A page of our origin whose CSP allows same-origin fetches (the docs viewer).
      await page.goto(`${base}/docs/`);

      const login = await call(page, '/auth/login', { body: { email, password } });
      expect(login.status).toBe(200);
      const device = (await context.cookies()).find((c) => c.name === DEVICE_COOKIE);
      expect(device?.value).toBeTruthy();

      const logout = await call(page, '/auth/logout', {
        headers: { authorization: `Bearer ${String(login.body?.accessToken)}` },
      });
      expect(logout.status).toBe(204);

      const after = await context.cookies();
      expect(after.find((c) => c.name === DEVICE_COOKIE)?.value).toBe(device?.value);
      // The session cookies are gone: logout still ends the session in the browser.
      expect(after.find((c) => c.name === 'bastion_refresh')).toBeUndefined();
      expect(after.find((c) => c.name === 'bastion_csrf')).toBeUndefined();

      // The attacker (another client, no device cookie) drives the account into backoff...
      for (let i = 0; i < 4; i++) {
        await ctx.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { email, password: WRONG_PASSWORD },
          remoteAddress: `198.18.7.${i + 1}`,
        });
      }
      const blocked = await ctx.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password },
        remoteAddress: '198.18.7.99',
      });
      expect(blocked.statusCode).toBe(429);

      // ...but the owner's browser, which logged out, still carries the exemption.
      const again = await call(page, '/auth/login', { body: { email, password } });
      expect(again.status).toBe(200);
    } finally {
      await context.close();
    }
  }, 120_000);
});

describe('logout headers (issue 14, item 2)', () => {
  it('sends Clear-Site-Data: "storage" only, clears the session cookies and never the device cookie', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password },
    });
    const device = cookieValue(login.headers['set-cookie'], DEVICE_COOKIE);
    expect(device).toBeTruthy();
    for (const [url, headers] of [
      ['/auth/logout', bearer(login.json().accessToken)],
      ['/auth/logout-all', bearer((await relogin(email, password)).json().accessToken)],
    ] as const) {
      const res = await ctx.app.inject({ method: 'POST', url, headers });
      expect(res.statusCode).toBe(204);
      expect(res.headers['clear-site-data']).toBe('"storage"');
      expect(cookieValue(res.headers['set-cookie'], 'bastion_refresh')).toBe('');
      expect(cookieValue(res.headers['set-cookie'], 'bastion_csrf')).toBe('');
      expect(cookieValue(res.headers['set-cookie'], DEVICE_COOKIE)).toBeUndefined();
    }
  });
});

function relogin(email: string, password: string) {
  return ctx.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } });
}
