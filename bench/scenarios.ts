/**
 * The scenario list. To add one (a route behind the token gate, /auth/me with a database read,
 * logins/s), append an entry; `setup` can register and log in through `ctx.bastion.origin` and
 * return the headers or body each request must carry. The bare side's baseline is the cheapest
 * Fastify route (/health/live), or for me-postgres the same row read with `pg` and nothing else.
 */
import { BENCH_SERVICE_TOKEN } from './lib/bastion-env.js';
import type { Scenario, ScenarioContext } from './lib/scenario.js';

/** Cold-token scenario: more distinct tokens than the verified-token cache holds (10,000). */
const COLD_TOKENS = 20_000;
const MINT_BATCH = 5_000;

/** Access tokens for one bench user, minted in the Bastion child (bench/lib/bench-routes.ts). */
async function mint(ctx: ScenarioContext, count: number) {
  const tokens: string[] = [];
  let userId = '';
  for (let left = count; left > 0; left -= MINT_BATCH) {
    const res = await fetch(`${ctx.bastion.origin}/bench/mint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: Math.min(left, MINT_BATCH) }),
    });
    if (res.status !== 200) throw new Error(`/bench/mint: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { userId: string; tokens: string[] };
    userId = body.userId;
    tokens.push(...body.tokens);
  }
  return { userId, tokens };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export const scenarios: readonly Scenario[] = [
  {
    name: 'login-page',
    description:
      'GET /login (issue 15) rendered per request: page headers and CSP, the session look-up ' +
      '(no cookie: none), a fresh form-CSRF cookie and token, the Eta template; vs bare Fastify ' +
      'sending the same page rendered once',
    bastionPath: '/login',
    barePath: '/login',
    optional: true,
    target: null,
  },
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
    name: 'health-live-equipped',
    description:
      'GET /health/live on plain Fastify with only what every Bastion response must carry (one ' +
      'info log line, request id, security headers, CORS, cookie parser, timeouts; ' +
      'bench/servers/bare-equipped.ts): run it beside health-live to split the gap to bare ' +
      "Fastify into the required features' price and Bastion's own",
    bastionPath: '/health/live',
    barePath: '/health/live',
    target: null,
    optional: true,
    async setup(ctx) {
      if (!ctx.start)
        throw new Error('health-live-equipped runs under `npm run bench`, not --profile');
      return { server: await ctx.start('bare-equipped', 'bare-equipped.ts', {}) };
    },
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
  {
    name: 'token-gate-warm',
    description:
      'GET /bench/gated (bench-only: behind the token gate, then the same {status:"ok"} as ' +
      '/health/live), one access token for every request: verified-token cache hit + ' +
      'revocation check',
    bastionPath: '/bench/gated',
    barePath: '/health/live',
    // Issue 20 (target 3): >= 50% in every one of five runs (issue 4 had asked 45%).
    target: 0.5,
    optional: true,
    async setup(ctx) {
      const { tokens } = await mint(ctx, 1);
      const headers = bearer(tokens[0] as string);
      // The bare side gets the same header (and ignores it), so both read the same bytes.
      return { bastion: { headers }, bare: { headers } };
    },
  },
  {
    name: 'token-gate-cold',
    description:
      `GET /bench/gated with a different access token on every request (${COLD_TOKENS.toLocaleString('en-US')} ` +
      'cycled, twice the verified-token cache): EdDSA signature and claims verified every time',
    bastionPath: '/bench/gated',
    barePath: '/health/live',
    // Issue 20 asks the cold gate reported, without a target (issue 4 had asked 45%).
    target: null,
    optional: true,
    async setup(ctx) {
      const { tokens } = await mint(ctx, COLD_TOKENS);
      const rotate = { header: 'authorization', values: tokens.map((t) => `Bearer ${t}`) };
      return { bastion: { rotate }, bare: { rotate } };
    },
  },
  {
    name: 'verify-kit',
    description:
      'GET /kit on a separate Fastify service guarded by @bastion/verify (issue 18), one access ' +
      'token: verified-token cache hit + in-memory revocation-set check, the feed followed over ' +
      'SSE; no call to Bastion per request (bench/servers/verify-kit.ts)',
    bastionPath: '/kit',
    barePath: '/health/live',
    target: null,
    optional: true,
    async setup(ctx) {
      if (!ctx.start) throw new Error('verify-kit runs under `npm run bench`, not --profile');
      const { tokens } = await mint(ctx, 1);
      const server = await ctx.start('verify-kit', 'verify-kit.ts', {
        BENCH_BASTION_ORIGIN: ctx.bastion.origin,
        BENCH_SERVICE_TOKEN,
      });
      const headers = bearer(tokens[0] as string);
      return { server, bastion: { headers }, bare: { headers } };
    },
  },
  {
    name: 'me-embedded',
    description:
      'GET /auth/me with a bearer (warm token) on the embedded default (PGlite in its worker ' +
      'thread, issue 20): compare its req/s and p99 with me-postgres in the same run; the bare ' +
      'side is the /health/live floor',
    bastionPath: '/auth/me',
    barePath: '/health/live',
    target: null,
    optional: true,
    async setup(ctx) {
      const { tokens } = await mint(ctx, 1);
      const headers = bearer(tokens[0] as string);
      return { bastion: { headers }, bare: { headers } };
    },
  },
  {
    name: 'me-postgres',
    description:
      'GET /auth/me with a bearer (warm token) on PostgreSQL: token gate, one user row by id ' +
      'through Kysely/pg, zod-serialized profile; bare side: one pg query for the same row',
    bastionPath: '/auth/me',
    barePath: '/users/:id',
    database: 'postgres',
    target: null,
    optional: true,
    async setup(ctx) {
      const { userId, tokens } = await mint(ctx, 1);
      const headers = bearer(tokens[0] as string);
      return { bastion: { headers }, bare: { headers }, barePath: `/users/${userId}` };
    },
  },
];
