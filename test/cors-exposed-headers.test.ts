/**
 * A page on a CORS origin reads only the response headers the server exposes (issue 18): the
 * answers a client acts on (a 429's `Retry-After` and `RateLimit-*`, a 201's `Location`) carry
 * those headers under the exact names `Access-Control-Expose-Headers` lists; another origin gets
 * no CORS header at all, exposed ones included.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/platform/clock.js';
import { EXPOSED_HEADERS } from '../src/platform/http-hardening.js';
import { createAdmin } from './support/actors.js';
import { createTestApp, type TestContext } from './support/app.js';
import { uniqueEmail } from './support/auth.js';

const ALLOWED = 'http://127.0.0.1:5173';
const FOREIGN = 'http://127.0.0.1:6666';

let ctx: TestContext;
const clock = manualClock();
beforeAll(async () => {
  ctx = await createTestApp({
    env: { CORS_ORIGINS: ALLOWED, RATE_LIMIT_REFRESH_PER_MINUTE: '1' },
    deps: { clock },
  });
});
afterAll(async () => ctx?.close());

const exposed = (res: LightMyRequestResponse) =>
  String(res.headers['access-control-expose-headers'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);

function corsHeaders(res: LightMyRequestResponse): string[] {
  return Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));
}

const refresh = (origin: string) =>
  ctx.app.inject({ method: 'POST', url: '/auth/refresh', headers: { origin } });

describe('CORS exposes the headers clients need', () => {
  it('an allowed origin is told every exposed header, and a 429 carries them by those names', async () => {
    await refresh(ALLOWED);
    const limited = await refresh(ALLOWED);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['access-control-allow-origin']).toBe(ALLOWED);
    const list = exposed(limited);
    expect(list).toEqual(EXPOSED_HEADERS.map((h) => h.toLowerCase()));
    for (const name of [
      'retry-after',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
    ]) {
      expect(limited.headers[name], name).toMatch(/^\d+$/);
      expect(list).toContain(name);
    }
    // Every rate-limit field the server sends is readable, not only the ones named above.
    const sent = Object.keys(limited.headers).filter((h) => h.startsWith('ratelimit'));
    expect(sent.filter((h) => !list.includes(h))).toEqual([]);
  });

  it("a 201's Location is exposed by its sent name", async () => {
    const admin = await createAdmin(ctx.app, ctx.database.db, clock);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/admin/users',
      headers: { ...admin.headers, origin: ALLOWED },
      payload: { email: uniqueEmail('invited') },
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toMatch(/^\/users\//);
    expect(exposed(res)).toContain('location');
  });

  it('another origin gets no CORS header, exposed ones included', async () => {
    // Spend this address's refresh limit first, whatever ran before (CI shuffles the tests).
    await refresh(ALLOWED);
    await refresh(ALLOWED);
    const res = await refresh(FOREIGN);
    expect(res.statusCode).toBe(429); // the limit is per address, whatever the origin
    expect(corsHeaders(res)).toEqual([]);
    const preflight = await ctx.app.inject({
      method: 'OPTIONS',
      url: '/auth/refresh',
      headers: { origin: FOREIGN, 'access-control-request-method': 'POST' },
    });
    expect(corsHeaders(preflight)).toEqual([]);
  });
});
