/**
 * Issue 14 (informational): the cookie-authenticated routes also check where a browser request
 * comes from. A page on another site that somehow holds the CSRF token (a leak, a sibling app)
 * still cannot refresh or log out through the victim's cookies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf } from '../support/abuse.js';
import { accountTestEnv, BUILD_TIMEOUT_MS } from '../support/accounts.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { cookieHeader, type LoggedIn, signUp } from '../support/auth.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';

const SPA = 'https://app.example.test';

let smtp: TestSmtp;
let ctx: TestContext;
beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: { ...accountTestEnv(smtp), CORS_ORIGINS: SPA } });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

function withCookies(session: LoggedIn, url: string, headers: Record<string, string>) {
  return ctx.app.inject({
    method: 'POST',
    url,
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, ...headers },
  });
}

describe('attack: cookie-authenticated calls from another site (issue 14)', () => {
  const hostile: [string, Record<string, string>][] = [
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['Origin: null (sandboxed frame)', { origin: 'null' }],
    ['a look-alike of our origin', { origin: 'http://127.0.0.1:3000.evil.example' }],
    ['Sec-Fetch-Site: cross-site without Origin', { 'sec-fetch-site': 'cross-site' }],
  ];
  for (const [what, headers] of hostile) {
    it(`refresh and logout with ${what} are 403 csrf_failed and the session lives on`, async () => {
      const session = await signUp(ctx.app, smtp);
      for (const url of ['/auth/refresh', '/auth/logout']) {
        const res = await withCookies(session, url, headers);
        expect(res.statusCode).toBe(403);
        expect(codeOf(res)).toBe('csrf_failed');
      }
      const ok = await withCookies(session, '/auth/refresh', {});
      expect(ok.statusCode).toBe(200);
    });
  }

  it('our own origin, a configured CORS origin, same-site fetches and non-browser clients pass', async () => {
    const session = await signUp(ctx.app, smtp);
    let current = session;
    const allowed: Record<string, string>[] = [
      { origin: 'http://127.0.0.1:3000' },
      { origin: SPA, 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-origin' },
      {},
    ];
    for (const headers of allowed) {
      const res = await withCookies(current, '/auth/refresh', headers);
      expect(res.statusCode).toBe(200);
      current = {
        ...current,
        cookie: cookieHeader(res.headers['set-cookie']),
        csrfToken: res.json().csrfToken,
      };
    }
    const out = await withCookies(current, '/auth/logout', { origin: 'http://127.0.0.1:3000' });
    expect(out.statusCode).toBe(204);
  });
});
