/**
 * Issue 14 item 9: with CORS_ORIGINS set, every unknown path answered 405 `Allow: OPTIONS` (the
 * CORS plugin's `OPTIONS *` preflight route was indexed as a path that exists). An unknown path is
 * 404 `not_found` in every configuration, a known path under another method is 405 with `Allow`,
 * and preflights for real routes still work.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_CONTENT_SECURITY_POLICY } from '../../src/platform/security-headers.js';
import { createTestApp, type TestContext } from '../support/app.js';

const ALLOWED = 'https://app.example';

let withCors: TestContext;
let withoutCors: TestContext;
beforeAll(async () => {
  withCors = await createTestApp({ env: { CORS_ORIGINS: ALLOWED } });
  withoutCors = await createTestApp({ database: withCors.database });
});
afterAll(async () => {
  await withoutCors?.close();
  await withCors?.close();
});

function expectProblem(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ status, code, type: `urn:bastion:problem:${code}` });
  expect(res.headers['content-security-policy']).toBe(API_CONTENT_SECURITY_POLICY);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
}

const UNKNOWN: [string, string][] = [
  ['GET', '/no/such/route'],
  ['POST', '/no/such/route'],
  ['PUT', '/admin/nothing-here'],
  ['DELETE', '/.env'],
  ['PATCH', '/wp-admin/install.php'],
  ['GET', '/auth/login/extra'],
  // A plain OPTIONS (no preflight from an allowed origin) is not a CORS request either.
  ['OPTIONS', '/no/such/route'],
];

const KNOWN: [string, string, string][] = [
  ['DELETE', '/health/live', 'GET, HEAD'],
  ['PUT', '/admin/audit', 'GET, HEAD'],
  ['GET', '/auth/login', 'POST'],
  ['OPTIONS', '/health/live', 'GET, HEAD'],
];

for (const [label, ctx] of [
  ['CORS on', () => withCors],
  ['CORS off', () => withoutCors],
] as const) {
  describe(`attack: probing for routes (${label})`, () => {
    it.each(UNKNOWN)('%s %s is 404 not_found', async (method, url) => {
      const res = await ctx().app.inject({ method: method as 'GET', url });
      expectProblem(res, 404, 'not_found');
      expect(res.headers.allow).toBeUndefined();
    });

    it.each(KNOWN)('%s %s is 405 method_not_allowed with Allow: %s', async (method, url, allow) => {
      const res = await ctx().app.inject({ method: method as 'GET', url });
      expectProblem(res, 405, 'method_not_allowed');
      expect(res.headers.allow).toBe(allow);
    });

    it('a foreign origin preflighting an unknown path gets 404', async () => {
      const res = await ctx().app.inject({
        method: 'OPTIONS',
        url: '/no/such/route',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      expectProblem(res, 404, 'not_found');
    });
  });
}

describe('CORS preflights for real routes still work', () => {
  it.each(['/auth/login', '/health/live', '/posts'])(
    'a preflight for %s is granted',
    async (url) => {
      const res = await withCors.app.inject({
        method: 'OPTIONS',
        url,
        headers: {
          origin: ALLOWED,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
      expect(res.statusCode).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
    },
  );

  it('without CORS_ORIGINS a preflight is no grant', async () => {
    const res = await withoutCors.app.inject({
      method: 'OPTIONS',
      url: '/auth/login',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST' },
    });
    expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
