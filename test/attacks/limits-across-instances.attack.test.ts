/**
 * Limits hold across instances and survive a Redis outage (issue 5). Two instances behind one
 * balancer share the database and Redis, each through its own connection (the same key prefix,
 * as two processes would): an attacker spreading guesses over both still meets one per-IP
 * budget, and only Redis can make it so, since in-memory limiters are per state object. Without
 * a Redis (REDIS_URL, else 127.0.0.1) the two instances share one memory state, as instances in
 * one process do. When Redis goes away mid-run, each instance falls back to its own in-memory
 * limiter and says so: never to no limit at all, and never to an answer that tells known
 * accounts from unknown ones.
 */
import type { LightMyRequestResponse } from 'fastify';
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
import { waitForAccountMail } from '../support/accounts.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { registerAndVerify } from '../support/auth.js';
import {
  openTestDatabase,
  openTestState,
  randomPrefix,
  redisUrl,
  type TestDatabase,
} from '../support/services.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';

// Redis at REDIS_URL or 127.0.0.1, in the embedded CI phase too; under CI=true an unreachable
// Redis fails here instead of skipping.
const REDIS_URL = await redisUrl();

/** Redis with this key prefix whenever one answers; else this run's (memory) state. */
const openState = (prefix: string): Promise<SharedState> =>
  REDIS_URL ? createRedisState(REDIS_URL, { prefix }) : openTestState(prefix);

const fail = (ctx: TestContext, ip: string) =>
  attemptLogin(ctx.app, { email: throwawayEmail(), password: WRONG_PASSWORD, ip });

describe('attack: spreading guesses over two instances', () => {
  let database: TestDatabase;
  let stateA: SharedState;
  let stateB: SharedState;
  let a: TestContext;
  let b: TestContext;

  beforeAll(async () => {
    database = await openTestDatabase();
    const prefix = randomPrefix();
    stateA = await openState(prefix);
    // One state object for both would let the per-state memory limiter pass this test alone.
    stateB = REDIS_URL ? await openState(prefix) : stateA;
    a = await createTestApp({ database, state: stateA, env: REAL_LOGIN_LIMITS });
    b = await createTestApp({ database, state: stateB, env: REAL_LOGIN_LIMITS });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await stateA?.close();
    if (stateB !== stateA) await stateB?.close();
    await database?.close();
  });

  it('runs on Redis whenever one answers, one connection per instance', () => {
    expect(stateA.kind).toBe(REDIS_URL ? 'redis' : 'memory');
    if (REDIS_URL) {
      expect(stateB.kind).toBe('redis');
      expect(stateB).not.toBe(stateA);
      expect(stateB.redis).not.toBe(stateA.redis);
      expect(stateB.prefix).toBe(stateA.prefix);
    }
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

describe.skipIf(!REDIS_URL)('attack: telling accounts apart while Redis is down', () => {
  let smtp: TestSmtp;
  let state: SharedState;
  let ctx: TestContext;

  beforeAll(async () => {
    smtp = await startTestSmtp();
    state = await createRedisState(REDIS_URL as string, { prefix: randomPrefix() });
    ctx = await createTestApp({ state, env: { SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await ctx?.close();
    await state?.close();
    await smtp?.close();
  });

  /** What a client sees of an answer, less what differs between any two (date, request id). */
  const observable = (res: LightMyRequestResponse) => {
    const { date: _date, ...headers } = res.headers;
    return { status: res.statusCode, headers, body: res.body };
  };

  it('forgot-password answers the same 202 for a known and an unknown address (the mail cap falls back)', async () => {
    const known = await registerAndVerify(ctx.app, smtp);
    const redis = state.redis;
    if (!redis) throw new Error('a Redis state has a client');
    const ended = new Promise((resolve) => redis.once('end', resolve));
    redis.disconnect();
    await ended;

    const forgot = (email: string) =>
      ctx.app.inject({
        method: 'POST',
        url: '/auth/password/forgot',
        payload: { email },
        remoteAddress: randomIPv4(),
      });
    const forKnown = await forgot(known.email);
    const forUnknown = await forgot(throwawayEmail());
    expect(forKnown.statusCode, forKnown.body).toBe(202);
    expect(observable(forUnknown)).toEqual(observable(forKnown));
    // Counted on the instance's own limiter meanwhile: the owner still gets the link.
    await waitForAccountMail(smtp, known.email, 'reset');
    expect(ctx.logs.map((l) => l.limiter)).toContain('forgot-mails');
  });
});
