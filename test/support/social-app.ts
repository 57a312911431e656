/** An app with social login providers pointed at loopback peers, and the steps of a sign-in. */
import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import type { Db } from '../../src/platform/db/database.js';
import '../../src/auth/oauth/identities.tables.js';
import { TEST_ENV } from './app.js';
import type { Browser, Client, Page } from './social.js';

export const PUBLIC = new URL(TEST_ENV.PUBLIC_URL as string).origin;

export function clientFor(provider: string): Client {
  return {
    clientId: `bastion-${provider}`,
    // Long enough to be a usable HS256 key: the confusion attack gets every chance.
    clientSecret: `secret-${provider}-0123456789abcdef0123456789abcdef`,
    redirectUri: `${PUBLIC}/auth/oauth/${provider}/callback`,
  };
}

export function providerEnv(name: string, issuer: string): Record<string, string> {
  const c = clientFor(name);
  const key = name.toUpperCase();
  return {
    // Every test comes from one address; the limit's own test sets it back.
    RATE_LIMIT_OAUTH_PER_MINUTE: '100000',
    [`OAUTH_${key}_ISSUER`]: issuer,
    [`OAUTH_${key}_CLIENT_ID`]: c.clientId,
    [`OAUTH_${key}_CLIENT_SECRET`]: c.clientSecret,
  };
}

/** Start at `startApp`'s URL, through the provider, up to the callback (not yet requested). */
export async function toCallback(browser: Browser, provider: string, returnTo?: string) {
  const query = returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`;
  const start = await browser.get(`${PUBLIC}/auth/oauth/${provider}/start${query}`);
  if (start.status !== 302 || !start.location) {
    throw new Error(`start: ${start.status} ${start.location} ${start.body.slice(0, 200)}`);
  }
  return browser.followUntil(start.location, (u) => u.origin === PUBLIC);
}

/** A whole sign-in: start, provider, callback; the callback's answer. */
export async function signIn(browser: Browser, provider: string, returnTo?: string) {
  const callback = await toCallback(browser, provider, returnTo);
  return { callback, page: await browser.get(callback) };
}

export function expectRefused(page: Page, code: string): void {
  expect({ status: page.status, location: page.location }).toEqual({
    status: 302,
    location: `/login?error=${code}`,
  });
}

/** A signed-in answer: 200, the session cookies, and a meta refresh to `returnTo`. */
export function expectSignedIn(page: Page, returnTo = '/account'): void {
  expect(page.status, page.location ?? page.body.slice(0, 200)).toBe(200);
  expect(page.setCookies.some((c) => c.startsWith('bastion_refresh='))).toBe(true);
  expect(page.setCookies.some((c) => c.startsWith('bastion_csrf='))).toBe(true);
  expect(page.body).toContain(`content="0;url=${returnTo}"`);
}

export async function identitiesOf(db: Db, subject: string) {
  return db.selectFrom('identities').selectAll().where('subject', '=', subject).execute();
}

/** The access token of the session the browser holds (refresh cookie + CSRF header). */
export async function accessToken(app: App, browser: Browser): Promise<string> {
  const refresh = browser.cookie(PUBLIC, 'bastion_refresh');
  const csrf = browser.cookie(PUBLIC, 'bastion_csrf');
  const res = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: {
      cookie: `bastion_refresh=${refresh}; bastion_csrf=${csrf}`,
      'x-csrf-token': csrf ?? '',
      origin: PUBLIC,
    },
  });
  if (res.statusCode !== 200) throw new Error(`refresh: ${res.statusCode} ${res.body}`);
  return res.json().accessToken as string;
}
