/** Security headers on every response; HSTS only where the request came over HTTPS. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from './support/app.js';

/** Every JSON answer: nothing may load, frame or be based on it (SECURITY-CHECKLIST WEB-03). */
const API_CSP: Record<string, string> = {
  'default-src': "'none'",
  'frame-ancestors': "'none'",
  'base-uri': "'none'",
  'object-src': "'none'",
};

/** DESIGN.md's hosted-pages CSP, plus the directives we add for pages' other resources. */
const PAGE_CSP: Record<string, string> = {
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
    ['a 200', '/health/live', API_CSP],
    ['a 404', '/no/such/route', API_CSP],
    ['the JWKS', '/.well-known/jwks.json', API_CSP],
    ['the OpenAPI document', '/openapi.json', API_CSP],
    ['the docs viewer', '/docs/', PAGE_CSP],
    ["the docs viewer's script", '/docs/static/swagger-ui-bundle.js', PAGE_CSP],
  ])(
    '%s carries its CSP, nosniff, no-referrer, no framing and no X-Powered-By',
    async (_, url, csp) => {
      const res = await ctx.app.inject({ method: 'GET', url });
      expect(parseCsp(res.headers['content-security-policy'])).toEqual(csp);
      expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-frame-options']).toMatch(/^(DENY|SAMEORIGIN)$/);
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(res.headers['x-powered-by']).toBeUndefined();
    },
  );

  it('JSON answers carry no document-only headers; pages keep them', async () => {
    const json = await ctx.app.inject({ method: 'GET', url: '/health/live' });
    expect(json.headers['x-frame-options']).toBe('DENY');
    for (const name of ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-xss-protection']) {
      expect(json.headers[name], name).toBeUndefined();
    }
    const page = await ctx.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(page.headers['x-xss-protection']).toBe('0');
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
    expect(parseCsp(res.headers['content-security-policy'])).toEqual(API_CSP);
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
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    const page = await proxied.app.inject({
      method: 'GET',
      url: '/docs/',
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(page.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
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
