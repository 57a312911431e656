/**
 * Limits hold across instances and survive a Redis outage (issue 5). Two instances behind one
 * balancer share the database and the shared state (Redis when REDIS_URL is set, else one memory
 * state): an attacker spreading guesses over both still meets one per-IP budget. When Redis goes
 * away mid-run, each instance falls back to its own in-memory limiter and says so: never to no
 * limit at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisState } from '../../src/platform/state/redis-state.js';
import type { SharedState } from '../../src/platform/state/shared-state.js';
import {
  attemptLogin,
  expectRateLimited,
  expectStatus,
  REAL_LOGIN_LIMITS,
  randomIPv4,
  throwawayEmail,
  WRONG_PASSWORD,
} from '../support/abuse.js';
import { createTestApp, type TestContext } from '../support/app.js';
import {
  ENV_REDIS_URL,
  openTestDatabase,
  openTestState,
  randomPrefix,
  redisUrl,
  type TestDatabase,
} from '../support/services.js';

// Under CI=true with REDIS_URL set, an unreachable Redis fails here instead of skipping.
const REDIS_URL = ENV_REDIS_URL ? await redisUrl() : undefined;

const fail = (ctx: TestContext, ip: string) =>
  attemptLogin(ctx.app, { email: throwawayEmail(), password: WRONG_PASSWORD, ip });

describe('attack: spreading guesses over two instances', () => {
  let database: TestDatabase;
  let state: SharedState;
  let a: TestContext;
  let b: TestContext;

  beforeAll(async () => {
    database = await openTestDatabase();
    state = await openTestState();
    a = await createTestApp({ database, state, env: REAL_LOGIN_LIMITS });
    b = await createTestApp({ database, state, env: REAL_LOGIN_LIMITS });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await state?.close();
    await database?.close();
  });

  it('runs on Redis whenever REDIS_URL is set', () => {
    expect(state.kind).toBe(ENV_REDIS_URL ? 'redis' : 'memory');
  });

  it('20 failures alternating between instances spend one budget: the 21st is 429 on either', async () => {
    const ip = randomIPv4();
    for (let i = 0; i < 20; i++) {
      expectStatus(await fail(i % 2 ? b : a, ip), 401, 'invalid_credentials');
    }
    expectRateLimited(await fail(a, ip), 20);
    expectRateLimited(await fail(b, ip), 20);
  });

  it('an account backoff started on one instance holds on the other', async () => {
    const email = throwawayEmail();
    for (let i = 0; i < 10; i++) {
      const res = await attemptLogin((i % 2 ? b : a).app, {
        email,
        password: WRONG_PASSWORD,
        ip: randomIPv4(),
      });
      expectStatus(res, 401, 'invalid_credentials');
    }
    const [onA, onB] = await Promise.all([
      attemptLogin(a.app, { email, password: WRONG_PASSWORD, ip: randomIPv4() }),
      attemptLogin(b.app, { email, password: WRONG_PASSWORD, ip: randomIPv4() }),
    ]);
    expectRateLimited(onA);
    expectRateLimited(onB);
  });
});

describe.skipIf(!REDIS_URL)('attack: guessing while Redis is down', () => {
  let state: SharedState;
  let ctx: TestContext;

  beforeAll(async () => {
    // A state of its own: the machine's Redis keeps running for everyone else.
    state = await createRedisState(REDIS_URL as string, { prefix: randomPrefix() });
    ctx = await createTestApp({ state, env: REAL_LOGIN_LIMITS });
  });
  afterAll(async () => {
    await ctx?.close();
    await state?.close();
  });

  it('login limits fall back to the per-instance limiter: the 21st failure is still 429', async () => {
    const ip = randomIPv4();
    // Some failures while Redis is up are counted there.
    for (let i = 0; i < 3; i++) expectStatus(await fail(ctx, ip), 401, 'invalid_credentials');

    const redis = state.redis;
    if (!redis) throw new Error('a Redis state has a client');
    const ended = new Promise((resolve) => redis.once('end', resolve));
    redis.disconnect();
    await ended;
    expect(redis.status).toBe('end');

    // From here on only the instance's own memory counts; it starts afresh, never unlimited.
    for (let i = 0; i < 20; i++) expectStatus(await fail(ctx, ip), 401, 'invalid_credentials');
    expectRateLimited(await fail(ctx, ip), 20);
    // The per-account backoff falls back too.
    const email = throwawayEmail();
    for (let i = 0; i < 10; i++) {
      const res = await attemptLogin(ctx.app, {
        email,
        password: WRONG_PASSWORD,
        ip: randomIPv4(),
      });
      expectStatus(res, 401, 'invalid_credentials');
    }
    expectRateLimited(
      await attemptLogin(ctx.app, { email, password: WRONG_PASSWORD, ip: randomIPv4() }),
    );

    const fallback = ctx.logs.filter((l) => l.event === 'rate_limit_fallback');
    expect(fallback.length).toBeGreaterThan(0);
    expect(fallback.every((l) => l.level === 40)).toBe(true);
    expect(fallback.map((l) => l.limiter)).toEqual(expect.arrayContaining(['login-ip']));
  });
});
