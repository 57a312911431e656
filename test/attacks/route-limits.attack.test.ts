/**
 * Flooding the public auth routes from one address (issue 5; checklist AUTH-02): registration,
 * forgot-password, verify-email, reset and refresh each have their own per-IP budget, and every
 * route shares a general per-IP limit, with the health probes exempt, that 404 and 405 answers
 * count against too. Every limited answer is 429 `rate_limited` with `Retry-After` and
 * `RateLimit-*` headers. Forgot-password also caps the reset mails one account receives.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { expectRateLimited, randomIPv4, sleep, throwawayEmail } from '../support/abuse.js';
import { mailsTo, waitForAccountMail } from '../support/accounts.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { registerAndVerify, STRONG_PASSWORD } from '../support/auth.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';

let smtp: TestSmtp;
let routes: TestContext;
let general: TestContext;

beforeAll(async () => {
  smtp = await startTestSmtp();
  routes = await createTestApp({
    env: {
      SMTP_URL: smtp.url,
      RATE_LIMIT_REGISTER_PER_HOUR: '10',
      RATE_LIMIT_FORGOT_PER_HOUR: '5',
      RATE_LIMIT_TOKEN_PER_HOUR: '20',
      RATE_LIMIT_REFRESH_PER_MINUTE: '3',
    },
  });
  general = await createTestApp({
    env: { SMTP_URL: smtp.url, RATE_LIMIT_GLOBAL_PER_MINUTE: '5' },
    database: routes.database,
  });
});
afterAll(async () => {
  await general?.close();
  await routes?.close();
  await smtp?.close();
});

function post(app: App, url: string, ip: string, payload?: object) {
  return app.inject({ method: 'POST', url, remoteAddress: ip, payload });
}

/** Sends `count` requests that must all pass the limit (any status but 429), then one more. */
async function exhaust(
  count: number,
  send: (i: number) => Promise<LightMyRequestResponse>,
  expected: number,
): Promise<LightMyRequestResponse> {
  for (let i = 0; i < count; i++) {
    const res = await send(i);
    expect(res.statusCode, res.body).toBe(expected);
  }
  return send(count);
}

describe('attack: flooding the public auth routes from one address', () => {
  it('registration: 10 per hour, the 11th is 429', async () => {
    const ip = randomIPv4();
    const register = () =>
      post(routes.app, '/auth/register', ip, {
        email: throwawayEmail(),
        password: STRONG_PASSWORD,
        displayName: 'Flood',
      });
    expectRateLimited(await exhaust(10, register, 202), 10);
    // Another address is not affected.
    expect((await post(routes.app, '/auth/register', randomIPv4(), {})).statusCode).toBe(400);
  });

  it('forgot-password: 5 per hour, the 6th is 429', async () => {
    const ip = randomIPv4();
    const forgot = () => post(routes.app, '/auth/password/forgot', ip, { email: throwawayEmail() });
    expectRateLimited(await exhaust(5, forgot, 202), 5);
  });

  it('verify-email: 20 guesses per hour, the 21st is 429', async () => {
    const ip = randomIPv4();
    const guess = (i: number) =>
      post(routes.app, '/auth/verify-email', ip, {
        token: `guess-${i}-${'x'.repeat(30)}`,
        password: STRONG_PASSWORD,
      });
    expectRateLimited(await exhaust(20, guess, 400), 20);
  });

  it('password reset: 20 guesses per hour, the 21st is 429', async () => {
    const ip = randomIPv4();
    const guess = (i: number) =>
      post(routes.app, '/auth/password/reset', ip, {
        token: `guess-${i}-${'x'.repeat(30)}`,
        newPassword: STRONG_PASSWORD,
      });
    expectRateLimited(await exhaust(20, guess, 400), 20);
  });

  it('refresh: the per-minute budget spent, the next is 429', async () => {
    const ip = randomIPv4();
    const refresh = () => post(routes.app, '/auth/refresh', ip);
    expectRateLimited(await exhaust(3, refresh, 401), 3);
  });
});

describe('attack: flooding any route (the general per-IP limit)', () => {
  it('the 6th request in a minute is 429, even unauthenticated; health probes stay exempt', async () => {
    const ip = randomIPv4();
    const me = () => general.app.inject({ method: 'GET', url: '/auth/me', remoteAddress: ip });
    const limited = await exhaust(5, me, 401);
    expectRateLimited(limited, 5);

    for (let i = 0; i < 10; i++) {
      for (const url of ['/health/live', '/health/ready']) {
        const res = await general.app.inject({ method: 'GET', url, remoteAddress: ip });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      }
    }
    // Public routes count too: a login from the same address is refused before any hashing.
    const login = await post(general.app, '/auth/login', ip, {
      email: throwawayEmail(),
      password: STRONG_PASSWORD,
    });
    expectRateLimited(login, 5);
    // Another client is unaffected.
    const other = await general.app.inject({
      method: 'GET',
      url: '/auth/me',
      remoteAddress: randomIPv4(),
    });
    expect(other.statusCode).toBe(401);
  });
});

describe('attack: scanning for paths (404 and 405 count against the general limit)', () => {
  it('5 probes of missing paths and wrong methods spend the budget: the 6th is 429, then any route', async () => {
    const ip = randomIPv4();
    const probe = (method: 'GET' | 'PUT', url: string) =>
      general.app.inject({ method, url, remoteAddress: ip });
    const answers = [
      await probe('GET', '/wp-login.php'),
      await probe('GET', '/.env'),
      await probe('PUT', '/auth/login'),
      await probe('GET', '/backup.zip'),
      await probe('PUT', '/auth/register'),
    ].map((r) => r.statusCode);
    expect(answers).toEqual([404, 404, 405, 404, 405]);
    expectRateLimited(await probe('GET', '/phpmyadmin/'), 5);
    expectRateLimited(await probe('PUT', '/auth/login'), 5);
    // One budget with the routes: the scanner's real requests are refused too.
    expectRateLimited(await post(general.app, '/auth/register', ip, {}), 5);
    // Another client still gets its plain 404.
    const other = await general.app.inject({
      method: 'GET',
      url: '/wp-login.php',
      remoteAddress: randomIPv4(),
    });
    expect(other.statusCode).toBe(404);
  });
});

describe('attack: mail-bombing one account through forgot-password', () => {
  it('3 reset mails per account per hour: the 4th request answers 202 and sends nothing', async () => {
    const victim = await registerAndVerify(routes.app, smtp);
    // From four addresses, the last one spelled differently: the cap follows the account.
    const spellings = [victim.email, victim.email, victim.email, victim.email.toUpperCase()];
    for (const email of spellings) {
      const res = await post(routes.app, '/auth/password/forgot', randomIPv4(), { email });
      expect(res.statusCode, res.body).toBe(202);
    }
    for (let i = 0; i < 3; i++) await waitForAccountMail(smtp, victim.email, 'reset');

    // A control mail asked for after the 4th request: once it is in, a 4th would be too.
    const control = await registerAndVerify(routes.app, smtp);
    await post(routes.app, '/auth/password/forgot', randomIPv4(), { email: control.email });
    await waitForAccountMail(smtp, control.email, 'reset');
    await sleep(500);
    expect(mailsTo(smtp, victim.email, 'reset')).toHaveLength(3);
    expect(routes.logs.filter((l) => l.event === 'reset_mail_suppressed')).toHaveLength(1);
  });
});
