/** Security headers on every response; HSTS only where the request came over HTTPS. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from './support/app.js';

/** DESIGN.md's hosted-pages CSP, plus the directives we add for the rest of the surface. */
const EXPECTED_CSP: Record<string, string> = {
  'default-src': "'self'",
  'script-src': "'self'",
  'frame-ancestors': "'none'",
  'form-action': "'self'",
  'style-src': "'self'",
  'img-src': "'self' data:",
  'font-src': "'self'",
  'object-src': "'none'",
  'base-uri': "'self'",
};

function parseCsp(header: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of String(header).split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out[name] = values.join(' ');
  }
  return out;
}

let ctx: TestContext;
let proxied: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
  proxied = await createTestApp({ database: ctx.database, env: { TRUST_PROXY: '127.0.0.1' } });
});
afterAll(async () => {
  await proxied?.close();
  await ctx?.close();
});

describe('security headers', () => {
  it.each([
    ['a 200', '/health/live'],
    ['a 404', '/no/such/route'],
    ['the docs viewer', '/docs/'],
  ])('%s carries the CSP, nosniff, no-referrer and no X-Powered-By', async (_, url) => {
    const res = await ctx.app.inject({ method: 'GET', url });
    expect(parseCsp(res.headers['content-security-policy'])).toEqual(EXPECTED_CSP);
    expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('a rejected body still gets the headers', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/health/live',
      headers: { 'content-type': 'application/json' },
      payload: '{',
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBeDefined();
  });

  it('responses are not cacheable by default', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/health/live' });
    expect(res.headers['cache-control']).toBe('no-store');
  });
});

describe('HSTS', () => {
  it('is absent over plain HTTP', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/health/live' });
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('is present when a trusted proxy says the request came over HTTPS', async () => {
    const res = await proxied.app.inject({
      method: 'GET',
      url: '/health/live',
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(res.headers['strict-transport-security']).toMatch(/max-age=31536000/);
  });

  it('is absent when an untrusted client claims HTTPS', async () => {
    const res = await proxied.app.inject({
      method: 'GET',
      url: '/health/live',
      remoteAddress: '203.0.113.9',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});
