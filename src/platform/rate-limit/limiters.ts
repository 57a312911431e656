/**
 * Rate limiters over rate-limiter-flexible: Redis-backed (shared by every instance) when Redis is
 * configured, in memory otherwise. A Redis limiter carries an in-memory insurance limiter, so a
 * Redis outage degrades to per-instance limits, never to no limit.
 */
import type { FastifyBaseLogger } from 'fastify';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { hmacBase64url } from '../crypto.js';
import { AppError, platformErrors } from '../errors.js';
import type { SharedState } from '../state/shared-state.js';

export interface LimitSpec {
  readonly name: string;
  readonly points: number;
  readonly durationSeconds: number;
}

export interface Limiter {
  readonly spec: LimitSpec;
  /**
   * Counts one attempt; throws 429 `rate_limited` when the budget is spent. Returns how many
   * have been counted in the window, this one included.
   */
  consume(key: string, points?: number): Promise<number>;
  /** Throws 429 when the budget is already spent, without counting. */
  check(key: string): Promise<void>;
  /** Counts a failure without throwing; returns how many have been counted in the window. */
  penalize(key: string): Promise<number>;
  /** Gives back one point counted by `consume` or `penalize` (an attempt that did not fail). */
  refund(key: string): Promise<void>;
  reset(key: string): Promise<void>;
  /**
   * Atomically takes the key for `seconds` when nobody holds it (no claim and no block): 0 when
   * taken, else the milliseconds until it is free. Of concurrent callers exactly one wins.
   */
  claim(key: string, seconds: number): Promise<number>;
  /** Blocks a key for a time (backoff). */
  block(key: string, seconds: number): Promise<void>;
  /** Milliseconds until a block placed with `block` ends; 0 when not blocked. */
  blockedFor(key: string): Promise<number>;
}

/** Builds the 429 with `Retry-After` and the IETF `RateLimit-*` headers. */
export function rateLimited(limit: number, msBeforeNext: number): AppError {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  const spec = platformErrors.rate_limited;
  return new AppError(
    'rate_limited',
    spec.status,
    spec.title,
    {},
    {
      'retry-after': String(seconds),
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(seconds),
    },
  );
}

/**
 * Memory counters per in-process shared state: apps built on one memory state (instances in one
 * process) count together, as instances on one Redis do. Keyed by the state, never global.
 */
const memoryLimiters = new WeakMap<SharedState, Map<string, RateLimiterMemory>>();

function sharedMemoryLimiter(
  state: SharedState,
  options: { keyPrefix: string; points: number; duration: number },
): RateLimiterMemory {
  let byState = memoryLimiters.get(state);
  if (!byState) {
    byState = new Map();
    memoryLimiters.set(state, byState);
  }
  const id = `${options.keyPrefix}|${options.points}|${options.duration}`;
  let limiter = byState.get(id);
  if (!limiter) {
    limiter = new RateLimiterMemory(options);
    byState.set(id, limiter);
  }
  return limiter;
}

export function createLimiter(
  state: SharedState,
  spec: LimitSpec,
  log: FastifyBaseLogger,
): Limiter {
  const options = {
    keyPrefix: `${state.prefix}rl:${spec.name}`,
    points: spec.points,
    duration: spec.durationSeconds,
  };
  const limiter: RateLimiterAbstract = state.redis
    ? new RateLimiterRedis({
        ...options,
        storeClient: state.redis,
        // Per instance: a Redis outage degrades to this instance's own counts.
        insuranceLimiter: new RateLimiterMemory(options),
        rejectIfRedisNotReady: true,
      })
    : sharedMemoryLimiter(state, options);

  let lastFallbackLog = 0;
  const noteFallback = () => {
    // The insurance limiter takes over silently inside the library; say so, at most once a minute.
    if (state.redis && state.redis.status !== 'ready' && Date.now() - lastFallbackLog > 60_000) {
      lastFallbackLog = Date.now();
      log.warn(
        { event: 'rate_limit_fallback', limiter: spec.name },
        'Redis unavailable: per-instance limits in force',
      );
    }
  };

  return {
    spec,
    consume(key, points = 1) {
      noteFallback();
      // A plain chain, not an async function: every request pays this once (the global limit).
      return limiter.consume(key, points).then(
        (res) => res.consumedPoints,
        (err: unknown) => {
          if (err instanceof RateLimiterRes) throw rateLimited(spec.points, err.msBeforeNext);
          throw err;
        },
      );
    },
    async check(key) {
      noteFallback();
      const res = await limiter.get(key);
      if (res && res.consumedPoints >= spec.points)
        throw rateLimited(spec.points, res.msBeforeNext);
    },
    async penalize(key) {
      noteFallback();
      const res = await limiter.penalty(key, 1);
      return res.consumedPoints;
    },
    async refund(key) {
      await limiter.reward(key, 1);
    },
    async reset(key) {
      await limiter.delete(key);
    },
    async claim(key, seconds) {
      noteFallback();
      try {
        // consume() creates the key with this duration only when it does not exist.
        await limiter.consume(key, spec.points, { customDuration: seconds });
        return 0;
      } catch (err) {
        if (err instanceof RateLimiterRes) return Math.max(1, err.msBeforeNext);
        throw err;
      }
    },
    async block(key, seconds) {
      await limiter.block(key, seconds);
    },
    async blockedFor(key) {
      const res = await limiter.get(key);
      return res && res.consumedPoints > spec.points ? res.msBeforeNext : 0;
    },
  };
}

/**
 * The same limiter with every key replaced by a keyed hash (HMAC-SHA256 under `key`) before it
 * reaches shared state: for limiters whose keys name people (email addresses), so Redis, its
 * dumps and its monitors hold no address in clear (issue 14). Callers keep passing plain keys.
 */
export function withHashedKeys(limiter: Limiter, key: Buffer): Limiter {
  const h = (value: string) => hmacBase64url(key, value);
  return {
    spec: limiter.spec,
    consume: (k, points) => limiter.consume(h(k), points),
    check: (k) => limiter.check(h(k)),
    penalize: (k) => limiter.penalize(h(k)),
    refund: (k) => limiter.refund(h(k)),
    reset: (k) => limiter.reset(h(k)),
    claim: (k, seconds) => limiter.claim(h(k), seconds),
    block: (k, seconds) => limiter.block(h(k), seconds),
    blockedFor: (k) => limiter.blockedFor(h(k)),
  };
}
