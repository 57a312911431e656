/** Steps of linking a provider from a signed-in browser (issue 16). */
import type { App } from '../../src/app.js';
import type { Browser, Page } from './social.js';
import { PUBLIC } from './social-app.js';

/**
 * An access token for the session the browser holds. The refresh rotates the cookie, so the
 * browser keeps the new one (as a real browser would), and its session stays usable for pages.
 */
export async function signedInBrowserToken(app: App, browser: Browser): Promise<string> {
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
  for (const line of [res.headers['set-cookie'] ?? []].flat()) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    if (name === 'bastion_refresh' || name === 'bastion_csrf') {
      browser.setCookie(PUBLIC, name, pair.slice(eq + 1));
    }
  }
  return res.json().accessToken as string;
}

/** `POST /auth/identities/link` with `token`; the start URL it answers. */
export async function linkUrl(
  app: App,
  token: string,
  provider: string,
  returnTo?: string,
): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/auth/identities/link',
    headers: { authorization: `Bearer ${token}` },
    payload: returnTo === undefined ? { provider } : { provider, returnTo },
  });
  if (res.statusCode !== 200) throw new Error(`link: ${res.statusCode} ${res.body}`);
  return res.json().url as string;
}

/** Follows a link start URL in `browser` through the provider; the callback's answer. */
export async function followLink(browser: Browser, url: string): Promise<Page> {
  const start = await browser.get(url);
  // A refusal is a redirect to one of our pages, not to the provider.
  if (start.status !== 302 || !start.location || start.location.startsWith('/')) return start;
  const callback = await browser.followUntil(start.location, (u) => u.origin === PUBLIC);
  return browser.get(callback);
}

/** The whole link: grant, start, provider, callback. */
export async function startLink(
  app: App,
  browser: Browser,
  token: string,
  provider: string,
  returnTo?: string,
): Promise<Page> {
  return followLink(browser, await linkUrl(app, token, provider, returnTo));
}
