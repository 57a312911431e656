/** CORS from an exact allowlist: a foreign origin never gets an Access-Control-Allow-Origin. */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../support/app.js';

const ALLOWED = 'https://app.example';

let ctx: TestContext;
let noCors: TestContext;
beforeAll(async () => {
  ctx = await createTestApp({ env: { CORS_ORIGINS: `${ALLOWED},https://admin.example` } });
  noCors = await createTestApp({ database: ctx.database });
});
afterAll(async () => {
  await noCors?.close();
  await ctx?.close();
});

const preflight = (app: TestContext, origin: string) =>
  app.app.inject({
    method: 'OPTIONS',
    url: '/health/live',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    },
  });

const get = (app: TestContext, origin: string) =>
  app.app.inject({ method: 'GET', url: '/health/live', headers: { origin } });

function expectNoCorsGrant(res: LightMyRequestResponse) {
  expect(res.headers['access-control-allow-origin']).toBeUndefined();
  expect(res.headers['access-control-allow-credentials']).toBeUndefined();
}

const FOREIGN = [
  'https://evil.example',
  'null',
  'http://app.example', // scheme downgrade
  'https://app.example.evil.example', // suffix trick
  'https://evilapp.example', // prefix trick
  'https://app.example:8443', // another port is another origin
];

describe('attack: cross-origin requests from a foreign origin', () => {
  it.each(FOREIGN)('a preflight from %s is not granted', async (origin) => {
    expectNoCorsGrant(await preflight(ctx, origin));
  });

  it.each(FOREIGN)('a GET from %s carries no grant', async (origin) => {
    const res = await get(ctx, origin);
    expect(res.statusCode).toBe(200); // served, but the browser will not hand it to the page
    expectNoCorsGrant(res);
  });

  it('without CORS_ORIGINS no origin is granted', async () => {
    expectNoCorsGrant(await preflight(noCors, ALLOWED));
    expectNoCorsGrant(await get(noCors, ALLOWED));
  });
});

describe('CORS for an allowed origin', () => {
  it('a preflight gets exactly that origin, with credentials', async () => {
    const res = await preflight(ctx, ALLOWED);
    expect(res.statusCode).toBeLessThan(300);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(res.headers.vary)).toMatch(/origin/i);
  });

  it('a GET gets exactly that origin, with credentials; never a wildcard', async () => {
    for (const origin of [ALLOWED, 'https://admin.example']) {
      const res = await get(ctx, origin);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(String(res.headers.vary)).toMatch(/origin/i);
    }
  });

  it('no response ever says *', async () => {
    const responses = await Promise.all([
      ...[ALLOWED, ...FOREIGN].map((o) => preflight(ctx, o)),
      ...[ALLOWED, ...FOREIGN].map((o) => get(ctx, o)),
    ]);
    for (const res of responses) {
      expect(res.headers['access-control-allow-origin']).not.toBe('*');
      expect(String(res.headers['access-control-allow-headers'] ?? '')).not.toContain('*');
    }
  });
});
