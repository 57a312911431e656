/**
 * Issue 18: refresh (and logout) sent with `content-type: application/json` and no body work
 * like no body; a body that is not JSON is still 400, and the credentials are still required.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { signUp } from '../../../test/support/auth.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { rotated, SETUP_TIMEOUT_MS } from '../../../test/support/tokens.js';

let smtp: TestSmtp;
let ctx: TestContext;

beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: { SMTP_URL: smtp.url } });
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

const JSON_TYPE = { 'content-type': 'application/json' };

describe('POST /auth/refresh with content-type: application/json and no body', () => {
  it('refreshes like a bodiless request, with or without a content-length of 0', async () => {
    const user = await signUp(ctx.app, smtp);
    const first = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...JSON_TYPE, cookie: user.cookie, 'x-csrf-token': user.csrfToken },
    });
    expect(first.statusCode, first.body).toBe(200);
    const next = rotated(first);
    const second = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: {
        ...JSON_TYPE,
        'content-length': '0',
        cookie: next.cookie,
        'x-csrf-token': next.csrfToken,
      },
      payload: '',
    });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json().accessToken).toEqual(expect.any(String));
  });

  it('still demands the cookie and CSRF token, and still refuses a body that is not JSON', async () => {
    const user = await signUp(ctx.app, smtp);
    const noCsrf = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...JSON_TYPE, cookie: user.cookie },
    });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().code).toBe('csrf_failed');
    const broken = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...JSON_TYPE, cookie: user.cookie, 'x-csrf-token': user.csrfToken },
      payload: '{"',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().code).toBe('malformed_json');
    // Prototype poisoning is refused as before (Fastify's own parser still reads the body).
    const poisoned = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...JSON_TYPE, cookie: user.cookie, 'x-csrf-token': user.csrfToken },
      payload: '{"__proto__":{"admin":true}}',
    });
    expect(poisoned.statusCode).toBe(400);
  });

  it('logout with an empty JSON body ends the session', async () => {
    const user = await signUp(ctx.app, smtp);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { ...JSON_TYPE, authorization: `Bearer ${user.accessToken}` },
    });
    expect(res.statusCode, res.body).toBe(204);
    const after = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...JSON_TYPE, cookie: user.cookie, 'x-csrf-token': user.csrfToken },
    });
    expect(after.statusCode).toBe(401);
  });
});
