/**
 * The revocation feed (issue 18): a logout shows on the page and on a live stream within 1 s,
 * also when it happens on another instance sharing the database and state; cursor paging has no
 * gaps or duplicates; the stream starts with the backlog, sends heartbeats' channel and ends when
 * the server closes.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, type LoggedIn, login, signUp } from '../../../test/support/auth.js';
import {
  type FeedItem,
  listenOnce,
  openFeedStream,
  SERVICE_ENV,
  SERVICE_TOKEN_A,
  SERVICE_TOKEN_B,
} from '../../../test/support/revocation-feed.js';
import {
  openTestDatabase,
  openTestState,
  type TestDatabase,
} from '../../../test/support/services.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { SETUP_TIMEOUT_MS } from '../../../test/support/tokens.js';
import type { SharedState } from '../../platform/state/shared-state.js';

let smtp: TestSmtp;
let database: TestDatabase;
let state: SharedState;
/** Two instances behind one load balancer: same database, same shared state. */
let a: TestContext;
let b: TestContext;
let baseA: string;

beforeAll(async () => {
  smtp = await startTestSmtp();
  database = await openTestDatabase();
  state = await openTestState();
  const env = { SMTP_URL: smtp.url, ...SERVICE_ENV };
  a = await createTestApp({ database, state, env });
  b = await createTestApp({ database, state, env });
  baseA = await listenOnce(a.app);
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await b?.close();
  await a?.close();
  await state?.close();
  await database?.close();
  await smtp?.close();
});

async function page(ctx: TestContext, since?: string, limit?: number, token = SERVICE_TOKEN_A) {
  const query = new URLSearchParams();
  if (since) query.set('since', since);
  if (limit) query.set('limit', String(limit));
  const res = await ctx.app.inject({
    method: 'GET',
    url: `/auth/revocations?${query}`,
    headers: bearer(token),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { items: FeedItem[]; cursor: string };
}

/** The cursor of "now": the end of everything revoked so far. */
async function head(ctx: TestContext): Promise<string> {
  let cursor: string | undefined;
  for (;;) {
    const p = await page(ctx, cursor, 500);
    cursor = p.cursor;
    if (p.items.length < 500) return cursor;
  }
}

function sessionIdOf(user: LoggedIn): string {
  const [, payload = ''] = user.accessToken.split('.');
  return (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sid: string }).sid;
}

async function logout(ctx: TestContext, user: LoggedIn) {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/auth/logout',
    headers: bearer(user.accessToken),
  });
  expect(res.statusCode).toBe(204);
}

describe('GET /auth/revocations (page)', () => {
  it('lists a logged-out session with its user and how long it matters', async () => {
    const user = await signUp(a.app, smtp);
    const since = await head(a);
    await logout(a, user);
    const sid = sessionIdOf(user);
    const result = await page(a, since);
    const item = result.items.find((i) => i.sessionId === sid);
    expect(item).toBeDefined();
    expect(item?.userId).toBe(user.userId);
    // Revocations matter as long as an access token can live (15 min) plus clock tolerance.
    const untilMs = Date.parse(item?.until ?? '');
    expect(untilMs).toBeGreaterThan(Date.now() + 14 * 60_000);
    expect(untilMs).toBeLessThan(Date.now() + 17 * 60_000);
    // The cursor moved past it: the next page does not repeat it.
    const next = await page(a, result.cursor);
    expect(next.items.map((i) => i.sessionId)).not.toContain(sid);
    // Both service tokens read the same feed.
    const other = await page(a, since, undefined, SERVICE_TOKEN_B);
    expect(other.items.map((i) => i.sessionId)).toContain(sid);
  });

  it('shows a logout made on another instance within 1 s', async () => {
    const user = await signUp(b.app, smtp);
    const since = await head(a);
    await logout(b, user);
    const sid = sessionIdOf(user);
    await vi.waitFor(
      async () => {
        expect((await page(a, since)).items.map((i) => i.sessionId)).toContain(sid);
      },
      { timeout: 1000, interval: 20 },
    );
  });

  it('pages through many revocations (several at the same instant) without gaps or duplicates', async () => {
    const first = await signUp(a.app, smtp);
    const sessions = [first];
    for (let i = 0; i < 6; i++) sessions.push(await login(a.app, first.email, first.password));
    const since = await head(a);
    // logout-all revokes every session in one statement: equal `revoked_at`, ordered by id.
    const res = await a.app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(first.accessToken),
    });
    expect(res.statusCode).toBe(204);
    const lone = await signUp(a.app, smtp);
    await logout(a, lone);

    const seen: string[] = [];
    let cursor = since;
    for (let round = 0; round < 20; round++) {
      const p = await page(a, cursor, 3);
      expect(p.items.length).toBeLessThanOrEqual(3);
      seen.push(...p.items.map((i) => i.sessionId ?? ''));
      cursor = p.cursor;
      if (p.items.length === 0) break;
    }
    const expected = [...sessions.map(sessionIdOf), sessionIdOf(lone)];
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((s) => expected.includes(s)).sort()).toEqual([...expected].sort());
    // The same revocations in one page, in the same order.
    const whole = await page(a, since, 500);
    expect(whole.items.map((i) => i.sessionId)).toEqual(seen);
  });

  it('caps a page at 500 items and refuses a made-up cursor', async () => {
    const tooMany = await a.app.inject({
      method: 'GET',
      url: '/auth/revocations?limit=501',
      headers: bearer(SERVICE_TOKEN_A),
    });
    expect(tooMany.statusCode).toBe(400);
    const bogus = await a.app.inject({
      method: 'GET',
      url: '/auth/revocations?since=not-a-cursor',
      headers: bearer(SERVICE_TOKEN_A),
    });
    expect(bogus.statusCode).toBe(400);
    expect(bogus.json().code).toBe('validation_failed');
  });
});

describe('GET /auth/revocations (event stream)', () => {
  it('sends the backlog, then a logout on this or another instance within 1 s', async () => {
    const early = await signUp(a.app, smtp);
    const since = await head(a);
    await logout(a, early);
    const stream = await openFeedStream(baseA, SERVICE_TOKEN_A, since);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(stream.headers['cache-control']).toBe('no-store');
      expect(stream.headers['x-content-type-options']).toBe('nosniff');
      // Backlog: the revocation made before the stream opened.
      await vi.waitFor(
        () => expect(stream.items().map((i) => i.sessionId)).toContain(sessionIdOf(early)),
        {
          timeout: 1000,
          interval: 10,
        },
      );

      const here = await signUp(a.app, smtp);
      await logout(a, here);
      await vi.waitFor(
        () => expect(stream.items().map((i) => i.sessionId)).toContain(sessionIdOf(here)),
        {
          timeout: 1000,
          interval: 10,
        },
      );

      const there = await signUp(b.app, smtp);
      await logout(b, there);
      await vi.waitFor(
        () => expect(stream.items().map((i) => i.sessionId)).toContain(sessionIdOf(there)),
        { timeout: 1000, interval: 10 },
      );

      // Each event carries its cursor as the SSE id (for Last-Event-ID) and no item twice.
      for (const event of stream.events) {
        expect(event.event).toBe('revocations');
        expect(event.id).toBe(event.data.cursor);
      }
      const ids = stream.items().map((i) => i.sessionId);
      expect(new Set(ids).size).toBe(ids.length);
      // The opening comment arrived before anything else.
      expect(stream.comments[0]).toBe('revocations');
    } finally {
      stream.close();
    }
  });

  it('ends every open stream when the server closes', async () => {
    const c = await createTestApp({ database, state, env: { SMTP_URL: smtp.url, ...SERVICE_ENV } });
    const base = await listenOnce(c.app);
    const stream = await openFeedStream(base, SERVICE_TOKEN_B);
    expect(stream.status).toBe(200);
    let ended = false;
    void stream.ended.then(() => {
      ended = true;
    });
    await c.close();
    await vi.waitFor(() => expect(ended).toBe(true), { timeout: 2000, interval: 10 });
  });
});
