/**
 * Load shedding (issue 5): while the event loop is saturated, requests get our problem+json 503
 * `overloaded` with `Retry-After` at once; the liveness probe still answers; once the loop
 * recovers, requests are served again. TEST_ENV turns shedding off (inject loops saturate the
 * loop); this file turns it back on with the production thresholds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/support/app.js';
import { LOAD_SAMPLE_INTERVAL_MS } from './load-shedding.js';

/** Building an app takes tens of seconds on a loaded two-core machine. */
const BUILD_TIMEOUT_MS = 180_000;

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp({
    env: {
      LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '1000',
      LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0.98',
    },
  });
}, BUILD_TIMEOUT_MS);
afterAll(async () => ctx?.close());

/** Keeps the loop busy for `ms`, yielding only through setImmediate (timers still fire). */
async function saturate(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const slice = Date.now() + 20;
    while (Date.now() < slice) {
      // busy
    }
    await new Promise((r) => setImmediate(r));
  }
}

describe('load shedding', () => {
  it('is installed without adding a route (default deny stays satisfied)', () => {
    expect(ctx.app.routeAccess().some((r) => r.url === '/status')).toBe(false);
  });

  /** Saturates the loop and returns what /auth/me and /health/live answer right after. */
  async function whileSaturated() {
    // Longer than two samples, so the latest sample lies wholly inside the busy period.
    await saturate(LOAD_SAMPLE_INTERVAL_MS * 2.3);
    const refused = await ctx.app.inject({ method: 'GET', url: '/auth/me' });
    const live = await ctx.app.inject({ method: 'GET', url: '/health/live' });
    return { refused, live };
  }

  it('refuses with 503 overloaded and Retry-After while the loop is saturated', async () => {
    const { refused, live } = await whileSaturated();
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toMatchObject({ code: 'overloaded', status: 503 });
    expect(live.statusCode).toBe(200);
  });

  it('serves again once the loop recovers', async () => {
    // Saturated first, in this test: recovering means nothing unless it was shedding.
    expect((await whileSaturated()).refused.statusCode).toBe(503);
    // Then idle: requests are served again within a few samples (polled, not slept on).
    let res = await ctx.app.inject({ method: 'GET', url: '/auth/me' });
    for (let i = 0; i < 50 && res.statusCode === 503; i++) {
      await new Promise((r) => setTimeout(r, LOAD_SAMPLE_INTERVAL_MS / 2));
      res = await ctx.app.inject({ method: 'GET', url: '/auth/me' });
    }
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('unauthorized');
  });
});
