/** Hostile request bodies, unknown routes and forced failures: every answer is problem+json. */
import type { LightMyRequestResponse } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestApp, type TestContext } from '../support/app.js';

const SQL_FAILURE =
  'relation "users" does not exist: SELECT password_hash FROM users WHERE id = $1 ' +
  '(at /work/main/src/auth/accounts/accounts.store.ts:42:7)';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp({
    beforeReady(app) {
      const r = app.withTypeProvider<ZodTypeProvider>();
      r.post(
        '/test/profile',
        {
          config: { access: 'public' },
          schema: { body: z.strictObject({ displayName: z.string().min(1).max(50) }) },
        },
        async (request) => ({ displayName: request.body.displayName }),
      );
      r.get('/test/crash', { config: { access: 'public' } }, async () => {
        throw new Error(SQL_FAILURE);
      });
      r.get('/test/crash-with-status', { config: { access: 'public' } }, async () => {
        // A library error that carries its own status must not be echoed either.
        throw Object.assign(new Error(SQL_FAILURE), { statusCode: 400, code: 'ELIB' });
      });
    },
  });
});
afterAll(async () => ctx.close());

function expectProblem(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ status, code, type: `urn:bastion:problem:${code}` });
  expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  return body;
}

const post = (payload: string, contentType = 'application/json') =>
  ctx.app.inject({
    method: 'POST',
    url: '/test/profile',
    headers: { 'content-type': contentType },
    payload,
  });

describe('attack: hostile bodies', () => {
  it('a valid body is accepted (control)', async () => {
    const res = await post(JSON.stringify({ displayName: 'Ada' }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ displayName: 'Ada' });
  });

  it('an extra key (mass assignment of role) is rejected with validation_failed and errors', async () => {
    const res = await post(JSON.stringify({ displayName: 'Ada', role: 'admin' }));
    const body = expectProblem(res, 400, 'validation_failed');
    expect(Array.isArray(body.errors)).toBe(true);
    expect(body.errors.length).toBeGreaterThan(0);
    expect(body.errors[0].path).toMatch(/^body/);
  });

  it('a wrongly typed field is rejected with validation_failed', async () => {
    expectProblem(await post(JSON.stringify({ displayName: 42 })), 400, 'validation_failed');
  });

  it('malformed JSON is rejected with malformed_json', async () => {
    expectProblem(await post('{"displayName": "Ada",'), 400, 'malformed_json');
  });

  it('an empty JSON body is rejected with malformed_json', async () => {
    expectProblem(await post(''), 400, 'malformed_json');
  });

  it('a __proto__ key cannot poison prototypes', async () => {
    const res = await post('{"displayName":"Ada","__proto__":{"isAdmin":true}}');
    expect(res.statusCode).toBe(400);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it.each([
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/xml',
    // Multipart is parsed only by the upload routes' own scope.
    'multipart/form-data; boundary=x',
  ])('a body sent as %s is refused with unsupported_media_type', async (type) => {
    expectProblem(await post('displayName=Ada', type), 415, 'unsupported_media_type');
  });

  it('a body over 1 MiB is refused with payload_too_large', async () => {
    const big = JSON.stringify({ displayName: 'x'.repeat(1024 * 1024) });
    expectProblem(await post(big), 413, 'payload_too_large');
  });
});

describe('attack: probing for routes', () => {
  it.each(['/no/such/route', '/../../etc/passwd', '/wp-admin', '/admin.php', '/.env'])(
    'GET %s is 404 not_found',
    async (url) => {
      expectProblem(await ctx.app.inject({ method: 'GET', url }), 404, 'not_found');
    },
  );

  // `/admin` is the admin console page (DESIGN "Hosted pages"): without a session it shows
  // nothing and sends the browser to sign in.
  it('GET /admin without a session is a redirect to /login, with no data', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/admin' });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/login?returnTo=%2Fadmin');
    expect(res.body).toBe('');
  });

  // SECURITY-CHECKLIST AZ-05: a method a path does not serve is 405 with `Allow` (was 404).
  it('an unknown method on a known path is 405 method_not_allowed, naming the allowed ones', async () => {
    const res = await ctx.app.inject({ method: 'DELETE', url: '/health/live' });
    expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('GET, HEAD');
  });
});

describe('attack: forcing a server error', () => {
  it.each(['/test/crash', '/test/crash-with-status'])(
    '%s answers internal_error with the request id only; the log has the details',
    async (url) => {
      const res = await ctx.app.inject({ method: 'GET', url });
      const body = expectProblem(res, 500, 'internal_error');
      expect(Object.keys(body).sort()).toEqual(['code', 'requestId', 'status', 'title', 'type']);
      expect(res.body).not.toMatch(/SELECT|password_hash|\/work\/|\.ts:|relation/);

      const logged = ctx.logs.find((l) => l.requestId === body.requestId && l.err);
      expect(logged).toBeDefined();
      expect(logged?.level).toBe(50);
      expect(JSON.stringify(logged?.err)).toContain('SELECT password_hash');
    },
  );
});

describe('attack: choosing the request id', () => {
  it('an incoming x-request-id is not used as the request id', async () => {
    const chosen = 'attacker-chosen-id';
    const res = await ctx.app.inject({
      method: 'GET',
      url: '/no/such/route',
      headers: { 'x-request-id': chosen, 'request-id': chosen },
    });
    const body = expectProblem(res, 404, 'not_found');
    expect(body.requestId).not.toBe(chosen);
    expect(ctx.logs.some((l) => l.requestId === chosen)).toBe(false);
  });

  it('two requests get two different ids', async () => {
    const a = (await ctx.app.inject({ method: 'GET', url: '/nope' })).json().requestId;
    const b = (await ctx.app.inject({ method: 'GET', url: '/nope' })).json().requestId;
    expect(a).not.toBe(b);
  });
});

describe('attack: parameter pollution (SECURITY-CHECKLIST INP-01)', () => {
  it.each(['/posts?limit=5&limit=6', '/products?cursor=a&cursor=b', '/posts?limit=1&unexpected=2'])(
    '%s is 400 validation_failed',
    async (url) => {
      expectProblem(await ctx.app.inject({ url }), 400, 'validation_failed');
    },
  );
});
