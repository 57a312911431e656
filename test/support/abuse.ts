/** Helpers for the abuse-limit attack tests (issue 5): login attempts from chosen addresses. */
import { randomBytes, randomInt } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import type { Env } from '../../src/config.js';

export const WRONG_PASSWORD = 'not-the-password-at-all-42';

/** The device cookie's name on plain-HTTP development (tests run on http://). */
export const DEVICE_COOKIE = 'bastion_device';

/** The real per-IP defaults (DESIGN.md), put back over TEST_ENV's raised limits. */
export const REAL_LOGIN_LIMITS: Env = {
  RATE_LIMIT_LOGIN_IP_FAILURES: '20',
  RATE_LIMIT_LOGIN_IP_WINDOW_SECONDS: '900',
  RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES: '10',
};

export interface Attempt {
  readonly email: string;
  readonly password: string;
  /** The socket address the request comes from (default 127.0.0.1, light-my-request's). */
  readonly ip?: string;
  readonly forwardedFor?: string;
  /** A `Cookie` header value. */
  readonly cookie?: string;
}

export function attemptLogin(app: App, a: Attempt): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {};
  if (a.forwardedFor !== undefined) headers['x-forwarded-for'] = a.forwardedFor;
  if (a.cookie !== undefined) headers.cookie = a.cookie;
  return app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: a.email, password: a.password },
    headers,
    ...(a.ip ? { remoteAddress: a.ip } : {}),
  });
}

/** Host addresses in 198.18.0.0/15 (benchmarking range), .0 and .255 left out. */
const IPV4_POOL = 512 * 254;
/** Where this process's addresses start: random, so runs differ, but then counted up. */
let nextIPv4 = randomInt(IPV4_POOL);

/**
 * A fresh address in 198.18.0.0/15, never one this process handed out before (for the first
 * 130,048 calls). Random picks collided now and then: a test file spends ~150 addresses that
 * have failed a login, and a "fresh" address that had already failed once made the 20th of
 * "20 failures from one address" a 429 (issue 5, a flaky 'ip_throttled' test).
 */
export function randomIPv4(): string {
  const n = nextIPv4++ % IPV4_POOL;
  const net = Math.floor(n / 254);
  return `198.${18 + (net >> 8)}.${net & 255}.${1 + (n % 254)}`;
}

/** A fresh /64 in 2001:db8::/32 (documentation range), as a prefix ending in `:`. */
export function randomIPv6Prefix(): string {
  return `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}:`;
}

export function throwawayEmail(): string {
  return `nobody-${randomBytes(6).toString('hex')}@example.test`;
}

export function codeOf(res: LightMyRequestResponse): string | undefined {
  try {
    return (res.json() as { code?: string }).code;
  } catch {
    return undefined;
  }
}

export function expectStatus(res: LightMyRequestResponse, status: number, code?: string): void {
  expect({ status: res.statusCode, code: codeOf(res) }, res.body).toEqual({
    status,
    code: code ?? codeOf(res),
  });
}

/**
 * A 429 `rate_limited` with `Retry-After` and the `RateLimit-*` headers (DESIGN.md, Abuse
 * resistance); returns Retry-After in seconds.
 */
export function expectRateLimited(res: LightMyRequestResponse, limit?: number): number {
  expectStatus(res, 429, 'rate_limited');
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1, `retry-after ${retryAfter}`).toBe(true);
  expect(res.headers['ratelimit-remaining']).toBe('0');
  expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
  const advertised = Number(res.headers['ratelimit-limit']);
  if (limit === undefined) expect(advertised).toBeGreaterThanOrEqual(1);
  else expect(advertised).toBe(limit);
  return retryAfter;
}

/** The device cookie a successful login set, as a `Cookie` header value. */
export function deviceCookieOf(res: LightMyRequestResponse): string {
  for (const c of [res.headers['set-cookie'] ?? []].flat()) {
    const pair = c.split(';')[0] ?? '';
    if (pair.startsWith(`${DEVICE_COOKIE}=`) && pair.length > DEVICE_COOKIE.length + 1) return pair;
  }
  throw new Error(`no ${DEVICE_COOKIE} cookie in ${res.statusCode} ${res.body}`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
