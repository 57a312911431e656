import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/support/app.js';
import {
  bearer,
  cookieHeader,
  login,
  registerAndVerify,
  uniqueEmail,
} from '../../test/support/auth.js';
import { startTestSmtp, type TestSmtp } from '../../test/support/smtp.js';

let ctx: TestContext;
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: { SMTP_URL: smtp.url } });
});
afterAll(async () => {
  await ctx.close();
  await smtp.close();
});

describe('register, verify, log in, refresh, log out', () => {
  it('runs end to end', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const session = await login(ctx.app, email, password);
    const me = await ctx.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: bearer(session.accessToken),
    });
    expect(me.statusCode).toBe(200);
    expect(me.headers['cache-control']).toBe('no-store');
    expect(me.json().user).toMatchObject({
      email,
      roles: ['user'],
      emailVerified: true,
      mfaEnabled: false,
    });

    const refreshed = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
    });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json()).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    const rotatedCookie = cookieHeader(refreshed.headers['set-cookie']);
    expect(rotatedCookie).not.toBe(session.cookie);

    const sessions = await ctx.app.inject({
      method: 'GET',
      url: '/auth/sessions',
      headers: bearer(refreshed.json().accessToken),
    });
    expect(sessions.statusCode).toBe(200);
    expect(sessions.json().items).toHaveLength(1);
    expect(sessions.json().items[0].current).toBe(true);

    const out = await ctx.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer(session.accessToken),
    });
    expect(out.statusCode).toBe(204);
    expect(out.headers['clear-site-data']).toBe('"storage"');
    const after = await ctx.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: bearer(session.accessToken),
    });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('unauthorized');
  });

  it('serves the signing keys as JWKS', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    const [key] = res.json().keys;
    expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(key.d).toBeUndefined();
  });

  it('answers 202 to a second registration of the same address', async () => {
    const email = uniqueEmail();
    const body = { email, password: 'a-long-unique-passphrase-77', displayName: 'X' };
    const first = await ctx.app.inject({ method: 'POST', url: '/auth/register', payload: body });
    const second = await ctx.app.inject({ method: 'POST', url: '/auth/register', payload: body });
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.body).toBe(first.body);
    await smtp.waitForMail(email, (m) => m.subject.includes('Someone tried'));
  });
});
