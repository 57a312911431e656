/** Production behind a trusted proxy: plain HTTP is never served, and the scheme is not spoofable. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../support/app.js';

const PROXY = '127.0.0.1';
const STRANGER = '198.51.100.7';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp({
    env: {
      NODE_ENV: 'production',
      TRUST_PROXY: PROXY,
      KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      SMTP_URL: 'smtp://127.0.0.1:2525',
      PUBLIC_URL: 'https://bastion.example',
    },
  });
});
afterAll(async () => ctx?.close());

const request = (
  method: 'GET' | 'HEAD' | 'POST',
  url: string,
  proto: string | undefined,
  from = PROXY,
  headers: Record<string, string> = {},
) =>
  ctx.app.inject({
    method,
    url,
    remoteAddress: from,
    headers: { ...(proto ? { 'x-forwarded-proto': proto } : {}), ...headers },
    ...(method === 'POST' ? { payload: { a: 1 } } : {}),
  });

describe('attack: plain HTTP in production', () => {
  it('a GET over plain HTTP is redirected (308) to the https public URL', async () => {
    const res = await request('GET', '/.well-known/jwks.json?x=1', 'http');
    expect(res.statusCode).toBe(308);
    expect(res.headers.location).toBe('https://bastion.example/.well-known/jwks.json?x=1');
  });

  it('a HEAD over plain HTTP is redirected too', async () => {
    expect((await request('HEAD', '/.well-known/jwks.json', 'http')).statusCode).toBe(308);
  });

  it('a POST over plain HTTP is refused with https_required, never served', async () => {
    const res = await request('POST', '/health/live', 'http');
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('https_required');
  });

  it('a request with no forwarded scheme at all is treated as plain HTTP', async () => {
    expect((await request('GET', '/.well-known/jwks.json', undefined)).statusCode).toBe(308);
    expect((await request('POST', '/health/live', undefined)).json().code).toBe('https_required');
  });

  it('X-Forwarded-Proto: https from an untrusted address is not believed', async () => {
    expect((await request('GET', '/.well-known/jwks.json', 'https', STRANGER)).statusCode).toBe(
      308,
    );
    const post = await request('POST', '/health/live', 'https', STRANGER);
    expect(post.statusCode).toBe(403);
    expect(post.json().code).toBe('https_required');
  });

  it('the redirect cannot be pointed at another host', async () => {
    for (const url of ['//evil.example/', '//evil.example/%2e%2e', '/\\evil.example/']) {
      const res = await request('GET', url, 'http', PROXY, {
        'x-forwarded-host': 'evil.example',
        host: 'evil.example',
      });
      expect(res.statusCode).toBe(308);
      expect(new URL(String(res.headers.location)).host).toBe('bastion.example');
    }
  });
});

describe('health probes over plain HTTP (Docker HEALTHCHECK, Kubernetes, the proxy)', () => {
  it('GET and HEAD of exactly /health/live and /health/ready are answered, not redirected', async () => {
    const live = await request('GET', '/health/live', undefined, STRANGER);
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'ok' });
    expect((await request('HEAD', '/health/live', 'http')).statusCode).toBe(200);
    const ready = await request('GET', '/health/ready', undefined);
    expect([200, 503]).toContain(ready.statusCode);
    expect(ready.headers.location).toBeUndefined();
  });

  it('nothing else rides on the exemption: a query, another path, a POST', async () => {
    for (const url of [
      '/health/live?x=1',
      '/health/live/',
      '/health/live/../../login',
      '/health/livez',
      '/health',
    ]) {
      const res = await request('GET', url, 'http');
      expect(res.statusCode, url).toBe(308);
    }
    const post = await request('POST', '/health/ready', 'http');
    expect(post.statusCode).toBe(403);
    expect(post.json().code).toBe('https_required');
  });
});

describe('HTTPS through the trusted proxy', () => {
  it('is served, with HSTS', async () => {
    const res = await request('GET', '/health/live', 'https');
    expect(res.statusCode).toBe(200);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d{8,}/);
  });
});
