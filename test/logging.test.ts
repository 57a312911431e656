import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from './support/app.js';

const BEARER = 'Bearer eyJhbGciOiJFZERTQSJ9.LOGLEAK-bearer';
const COOKIE = '__Host-bastion_refresh=LOGLEAK-refresh; csrf=LOGLEAK-csrf';
const LEAK = /LOGLEAK/;

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp({
    beforeReady(app) {
      app.post('/test/echo-log', { config: { access: 'public' } }, async (request) => {
        // What a careless handler might log: headers, a body, an error from a client library.
        request.log.info({ headers: request.headers }, 'headers');
        request.log.info({ body: request.body }, 'body');
        // Flat lines take the formatter's fast path: a secret-named key must still be censored.
        request.log.info({ refreshToken: 'LOGLEAK-flat', status: 200 }, 'flat');
        const clientError = Object.assign(new Error('upstream refused'), {
          config: { headers: { Authorization: 'Bearer LOGLEAK-upstream' } },
          password: 'LOGLEAK-error-prop',
        });
        request.log.error({ err: clientError }, 'upstream failed');
        return { ok: true };
      });
    },
  });
});
afterAll(async () => ctx.close());

async function settle(): Promise<void> {
  // onResponse logging runs after inject() resolves.
  await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('logging: secrets never reach a log line', () => {
  it('a request carrying a bearer, cookies, a token in the query and secret body fields leaks none of them', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/test/echo-log?token=LOGLEAK-query&code=LOGLEAK-code',
      headers: { authorization: BEARER, cookie: COOKIE, 'x-csrf-token': 'LOGLEAK-xcsrf' },
      payload: {
        email: 'a@example.com',
        password: 'LOGLEAK-password',
        nested: { deeper: { refreshToken: 'LOGLEAK-token', clientSecret: 'LOGLEAK-secret' } },
        mfa: [{ code: 'LOGLEAK-mfa' }],
      },
    });
    expect(res.statusCode).toBe(200);
    await settle();
    const msgs = ctx.logs.map((l) => l.msg);
    // The lines were written (so their absence of secrets means something) ...
    expect(msgs).toEqual(
      expect.arrayContaining(['headers', 'body', 'flat', 'upstream failed', 'request completed']),
    );
    // ... and hold no secret anywhere.
    expect(JSON.stringify(ctx.logs)).not.toMatch(LEAK);
    const body = ctx.logs.find((l) => l.msg === 'body')?.body as Record<string, unknown>;
    expect(body.email).toBe('a@example.com'); // non-secret fields survive
  });

  it('a secret nested deeper than the walk reaches is cut off, not printed', async () => {
    let deep: Record<string, unknown> = { password: 'LOGLEAK-deep' };
    for (let i = 0; i < 12; i++) deep = { level: deep };
    ctx.app.log.info({ deep }, 'deep object');
    await settle();
    expect(ctx.logs.some((l) => l.msg === 'deep object')).toBe(true);
    expect(JSON.stringify(ctx.logs)).not.toMatch(LEAK);
  });

  it('every request gets one completion line with method, path (no query) and status', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/health/live?token=LOGLEAK-q2' });
    await settle();
    const line = ctx.logs.find((l) => l.msg === 'request completed' && l.url === '/health/live');
    expect(line).toMatchObject({ method: 'GET', url: '/health/live', status: 200 });
    expect(typeof line?.ip).toBe('string');
    expect(typeof line?.ms).toBe('number');
    expect(res.statusCode).toBe(200);
    expect(JSON.stringify(ctx.logs)).not.toMatch(LEAK);
  });
});
