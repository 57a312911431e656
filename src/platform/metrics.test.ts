/**
 * GET /metrics (issue 5): only for the METRICS_TOKEN bearer, absent without one, and the counters
 * it promises: requests by route pattern, login outcomes, throttles, security events,
 * revocations and the hash pool, in a registry of each app's own.
 */
import * as argon2 from '@node-rs/argon2';
import type { LightMyRequestResponse } from 'fastify';
import { type KyselyPlugin, SelectQueryNode, TableNode } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_ARGON2, type TestContext } from '../../test/support/app.js';
import { bearer, login, STRONG_PASSWORD, uniqueEmail } from '../../test/support/auth.js';
import { openTestDatabase, type TestDatabase } from '../../test/support/services.js';
import type { Db } from './db/database.js';

/** Building an app takes tens of seconds on a loaded two-core machine. */
const BUILD_TIMEOUT_MS = 180_000;

const TOKEN = 'metrics-scraper-token-0123456789';
const ARGON2ID = 2;

function expectProblem(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json().code).toBe(code);
}

/** A verified account inserted directly (registration has its own tests). */
async function insertVerifiedUser(db: Db, email: string): Promise<void> {
  const now = new Date();
  const passwordHash = await argon2.hash(STRONG_PASSWORD, { algorithm: ARGON2ID, ...TEST_ARGON2 });
  await db
    .insertInto('users')
    .values({
      id: uuidv7(),
      email,
      email_key: email.toLowerCase(),
      display_name: 'Metrics User',
      password_hash: passwordHash,
      roles: [],
      email_verified_at: now,
      avatar_url: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
}

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics with METRICS_TOKEN', () => {
  let ctx: TestContext;
  const scrape = (headers: Record<string, string> = bearer(TOKEN)) =>
    ctx.app.inject({ method: 'GET', url: '/metrics', headers });

  beforeAll(async () => {
    ctx = await createTestApp({
      env: { METRICS_TOKEN: TOKEN, RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES: '2' },
    });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => ctx?.close());

  it('refuses a scrape without a token with 401 unauthorized', async () => {
    expectProblem(await scrape({}), 401, 'unauthorized');
  });

  it('refuses a wrong token of the same length', async () => {
    const wrong = `${TOKEN.slice(0, -1)}X`;
    expect(wrong).toHaveLength(TOKEN.length);
    expectProblem(await scrape(bearer(wrong)), 401, 'unauthorized');
  });

  it('refuses a wrong token of another length, a prefix and an empty one', async () => {
    expectProblem(await scrape(bearer(`${TOKEN}0`)), 401, 'unauthorized');
    expectProblem(await scrape(bearer(TOKEN.slice(0, 8))), 401, 'unauthorized');
    expectProblem(await scrape({ authorization: 'Bearer ' }), 401, 'unauthorized');
  });

  it('refuses the token under another scheme or in the query string', async () => {
    expectProblem(await scrape({ authorization: `Basic ${TOKEN}` }), 401, 'unauthorized');
    expectProblem(await scrape({ authorization: TOKEN }), 401, 'unauthorized');
    const res = await ctx.app.inject({ method: 'GET', url: `/metrics?token=${TOKEN}` });
    expectProblem(res, 401, 'unauthorized');
  });

  it('answers Prometheus text, uncached, with the process metrics', async () => {
    const res = await scrape();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(res.body).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(sample(res.body, 'bastion_hash_pool_active')).toBe(0);
    expect(sample(res.body, 'bastion_hash_pool_queued')).toBe(0);
  });

  it('labels requests by route pattern, never by the raw URL with its ids', async () => {
    const id = uuidv7();
    // Counters are per app and other tests here add to them: compare with a scrape from before.
    const before = (await scrape()).body;
    const added = (text: string, series: string) =>
      (sample(text, series) ?? 0) - (sample(before, series) ?? 0);
    expectProblem(await scrape({}), 401, 'unauthorized');
    for (let i = 0; i < 3; i++) {
      const res = await ctx.app.inject({ method: 'DELETE', url: `/auth/sessions/${id}` });
      expect(res.statusCode).toBe(401);
    }
    await ctx.app.inject({ method: 'GET', url: `/no/such/route/${id}` });
    await ctx.app.inject({ method: 'GET', url: '/health/live?probe=1' });

    const text = (await scrape()).body;
    expect(
      added(text, 'http_requests_total{route="/auth/sessions/:id",method="DELETE",status="401"}'),
    ).toBe(3);
    expect(
      added(
        text,
        'http_request_duration_seconds_count{route="/auth/sessions/:id",method="DELETE",status="401"}',
      ),
    ).toBe(3);
    expect(added(text, 'http_requests_total{route="unmatched",method="GET",status="404"}')).toBe(1);
    expect(added(text, 'http_requests_total{route="/health/live",method="GET",status="200"}')).toBe(
      1,
    );
    expect(text).not.toContain(id);
    expect(text).not.toContain('probe=1');
    // Refused scrapes are counted too: a token guesser shows up.
    expect(added(text, 'http_requests_total{route="/metrics",method="GET",status="401"}')).toBe(1);
  });

  it('counts login outcomes, throttles, security events and revocations', async () => {
    const email = uniqueEmail('metrics');
    await insertVerifiedUser(ctx.database.db, email);
    const wrong = { email: uniqueEmail('nobody'), password: 'not-the-password-at-all-42' };
    // Two failures reach the account's free budget (2 here): the second raises account_throttled.
    for (let i = 0; i < 2; i++) {
      const res = await ctx.app.inject({ method: 'POST', url: '/auth/login', payload: wrong });
      expectProblem(res, 401, 'invalid_credentials');
    }
    const throttled = await ctx.app.inject({ method: 'POST', url: '/auth/login', payload: wrong });
    expectProblem(throttled, 429, 'rate_limited');

    const session = await login(ctx.app, email, STRONG_PASSWORD);
    const logout = await ctx.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer(session.accessToken),
    });
    expect(logout.statusCode).toBe(204);

    const text = (await scrape()).body;
    expect(sample(text, 'bastion_login_outcomes_total{outcome="invalid_credentials"}')).toBe(2);
    expect(sample(text, 'bastion_login_outcomes_total{outcome="throttled"}')).toBe(1);
    expect(sample(text, 'bastion_login_outcomes_total{outcome="success"}')).toBe(1);
    expect(sample(text, 'bastion_rate_limited_total{route="/auth/login"}')).toBe(1);
    expect(sample(text, 'bastion_security_events_total{type="account_throttled"}')).toBe(1);
    expect(sample(text, 'bastion_revocations_total')).toBe(1);
    expect(
      sample(text, 'http_requests_total{route="/auth/login",method="POST",status="200"}'),
    ).toBe(1);
  });

  it(
    'keeps each app to its own registry: a second app starts from zero',
    async () => {
      const other = await createTestApp({
        env: { METRICS_TOKEN: TOKEN },
        database: ctx.database,
        state: ctx.state,
      });
      try {
        const text = (
          await other.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKEN) })
        ).body;
        expect(text).not.toContain('route="/auth/sessions/:id"');
        expect(text).not.toContain('bastion_login_outcomes_total{');
        expect(sample(text, 'bastion_revocations_total')).toBe(0);
      } finally {
        await other.close();
      }
    },
    BUILD_TIMEOUT_MS,
  );
});

/**
 * Holds the results of user look-ups while closed. A login takes its hash-pool place before it
 * looks the account up (issue 5), so a held look-up keeps the place busy without spending CPU.
 */
function userLookupGate() {
  const held = new WeakSet<object>();
  let opened: Promise<void> = Promise.resolve();
  let open = () => {};
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }) {
      const froms = SelectQueryNode.is(node) ? (node.from?.froms ?? []) : [];
      if (froms.some((f) => TableNode.is(f) && f.table.identifier.name === 'users')) {
        held.add(queryId);
      }
      return node;
    },
    async transformResult({ queryId, result }) {
      if (held.has(queryId)) await opened;
      return result;
    },
  };
  return {
    plugin,
    close() {
      opened = new Promise((resolve) => {
        open = resolve;
      });
    },
    open: () => open(),
  };
}

describe('GET /metrics while the hash pool is full', () => {
  const gate = userLookupGate();
  let database: TestDatabase;
  let ctx: TestContext;
  const scrape = () => ctx.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKEN) });

  beforeAll(async () => {
    database = await openTestDatabase();
    ctx = await createTestApp({
      env: { METRICS_TOKEN: TOKEN, HASH_CONCURRENCY: '1', HASH_QUEUE: '4' },
      database,
      deps: { db: database.db.withPlugin(gate.plugin) },
    });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    gate.open();
    await ctx?.close();
    await database?.close();
  });

  it('shows the one running hash as active=1 and the logins behind it as queued', async () => {
    gate.close();
    const payload = { email: uniqueEmail('pool'), password: 'not-the-password-at-all-42' };
    // then() dispatches each injection now rather than when awaited.
    const logins = Array.from({ length: 3 }, () =>
      ctx.app.inject({ method: 'POST', url: '/auth/login', payload }).then((r) => r),
    );
    let text = '';
    for (let i = 0; i < 200 && sample(text, 'bastion_hash_pool_queued') !== 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      text = (await scrape()).body;
    }
    expect(sample(text, 'bastion_hash_pool_active')).toBe(1);
    expect(sample(text, 'bastion_hash_pool_queued')).toBe(2);

    gate.open();
    for (const res of await Promise.all(logins)) expectProblem(res, 401, 'invalid_credentials');
    const idle = (await scrape()).body;
    expect(sample(idle, 'bastion_hash_pool_active')).toBe(0);
    expect(sample(idle, 'bastion_hash_pool_queued')).toBe(0);
  });
});

describe('GET /metrics without METRICS_TOKEN', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestApp();
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => ctx?.close());

  it('answers 404 not_found, with or without a bearer', async () => {
    expectProblem(await ctx.app.inject({ method: 'GET', url: '/metrics' }), 404, 'not_found');
    const res = await ctx.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKEN) });
    expectProblem(res, 404, 'not_found');
  });
});
