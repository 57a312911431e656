/** Readiness tells the truth: 503 when the database or the shared state does not answer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryState } from '../src/platform/state/memory-state.js';
import { createRedisState } from '../src/platform/state/redis-state.js';
import type { SharedState } from '../src/platform/state/shared-state.js';
import { createTestApp, type TestContext } from './support/app.js';
import { openTestDatabase, randomPrefix, redisUrl, type TestDatabase } from './support/services.js';

type Ping = 'ok' | 'fail' | 'hang';
let ping: Ping = 'ok';
const memory = createMemoryState();
const controlled: SharedState = {
  ...memory,
  ping: () =>
    ping === 'ok'
      ? Promise.resolve()
      : ping === 'fail'
        ? Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379'))
        : new Promise<void>(() => {}),
};

const REDIS_URL = await redisUrl();
let database: TestDatabase;
let ctx: TestContext;
beforeAll(async () => {
  database = await openTestDatabase();
  ctx = await createTestApp({ database, state: controlled });
});
afterAll(async () => {
  await ctx?.close().catch(() => {});
  await database?.close().catch(() => {});
  await memory.close();
});

const ready = () => ctx.app.inject({ method: 'GET', url: '/health/ready' });

describe('readiness', () => {
  it('is 200 when everything answers', async () => {
    ping = 'ok';
    const res = await ready();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('is 503 when the shared state refuses', async () => {
    ping = 'fail';
    const res = await ready();
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unavailable' }); // no error detail to the client
  });

  it('a hung dependency cannot hang the probe: 503 once the probe times out', async () => {
    ping = 'hang';
    // The ping never settles: only the probe's own timeout can answer this request.
    const res = await ready();
    expect(res.statusCode).toBe(503);
    expect(
      ctx.logs.some(
        (l) =>
          l.msg === 'readiness probe failed' &&
          (l.err as { message?: string } | undefined)?.message === 'probe timed out',
      ),
    ).toBe(true);
  });

  it.skipIf(!REDIS_URL)('is 503 when Redis goes away', async () => {
    const redis = await createRedisState(REDIS_URL as string, { prefix: randomPrefix() });
    const withRedis = await createTestApp({ database, state: redis });
    try {
      expect((await withRedis.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(
        200,
      );
      await redis.close();
      const res = await withRedis.app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
    } finally {
      await withRedis.close();
    }
  });

  it('is 503 when the database is gone (liveness stays 200)', async () => {
    // Its own database and app: closing the shared one would break the other tests.
    const own = await openTestDatabase();
    const app = await createTestApp({ database: own, state: memory });
    try {
      expect((await app.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
      await own.close();
      expect((await app.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503);
      expect((await app.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    } finally {
      await app.close().catch(() => {});
    }
  }, 180_000); // builds its own app: tens of seconds on a loaded machine
});
