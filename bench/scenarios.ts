/**
 * The scenario list. To add one (a route behind the token gate, /auth/me with a database read,
 * logins/s), append an entry; `setup` can register and log in through `ctx.bastion.origin` and
 * return the headers or body each request must carry. The bare side serves only /health/live:
 * the baseline is always "the cheapest Fastify route", so every ratio reads the same way.
 */
import type { Scenario } from './lib/scenario.js';

export const scenarios: readonly Scenario[] = [
  {
    name: 'health-live',
    description:
      'GET /health/live through every global hook: security headers, CORS, cookies, request id, ' +
      'metrics, zod response serializer, one info log line (exempt from the rate limit and load ' +
      'shedding)',
    bastionPath: '/health/live',
    barePath: '/health/live',
  },
  {
    name: 'jwks',
    description:
      'GET /.well-known/jwks.json: the same hooks plus the global per-IP rate limit (in-memory ' +
      'counter) and a larger zod-serialized body (the published keys)',
    bastionPath: '/.well-known/jwks.json',
    barePath: '/health/live',
    optional: true,
  },
];
