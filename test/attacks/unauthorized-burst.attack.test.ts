/**
 * Attack (issue 5): a client hammering with a bad bearer raises exactly one `unauthorized_burst`
 * security event per window (at the threshold crossing, not one per request), counted per client
 * address; another client's handful of refusals raises nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  UNAUTHORIZED_BURST_THRESHOLD,
  UNAUTHORIZED_BURST_WINDOW_MS,
} from '../../src/platform/unauthorized-burst.js';
import { createTestApp, type TestContext } from '../support/app.js';

/** Building an app takes tens of seconds on a loaded two-core machine. */
const BUILD_TIMEOUT_MS = 180_000;

const BAD_BEARER = { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.forged' };

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
}, BUILD_TIMEOUT_MS);
afterAll(async () => ctx?.close());

async function burstRows(ip?: string) {
  let query = ctx.database.db
    .selectFrom('security_events')
    .select(['id', 'ip', 'detail'])
    .where('type', '=', 'unauthorized_burst');
  if (ip) query = query.where('ip', '=', ip);
  return query.execute();
}

/** Recording happens after the response is sent: give the last hooks a moment. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
}

describe('attack: a burst of bad bearer tokens', () => {
  it('25 refusals from one address raise exactly one unauthorized_burst event', async () => {
    expect(UNAUTHORIZED_BURST_THRESHOLD).toBeLessThan(25);
    const attacker = '203.0.113.7';
    for (let i = 0; i < 25; i++) {
      const res = await ctx.app.inject({
        method: 'GET',
        url: '/auth/me',
        headers: BAD_BEARER,
        remoteAddress: attacker,
      });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('unauthorized');
    }
    await settle();
    const rows = await burstRows();
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row?.ip).toBe(attacker);
    const detail = typeof row?.detail === 'string' ? JSON.parse(row.detail) : row?.detail;
    expect(detail).toMatchObject({
      refusals: UNAUTHORIZED_BURST_THRESHOLD,
      windowSeconds: UNAUTHORIZED_BURST_WINDOW_MS / 1000,
      route: '/auth/me',
    });
    expect(ctx.logs.filter((l) => l.event === 'unauthorized_burst' && l.level === 40)).toHaveLength(
      1,
    );
  });

  it('a concurrent flood still raises only one event for its window', async () => {
    const attacker = '203.0.113.8';
    const responses = await Promise.all(
      Array.from({ length: 60 }, () =>
        ctx.app.inject({
          method: 'GET',
          url: '/auth/sessions',
          headers: BAD_BEARER,
          remoteAddress: attacker,
        }),
      ),
    );
    expect(responses.every((r) => r.statusCode === 401)).toBe(true);
    await settle();
    expect(await burstRows(attacker)).toHaveLength(1);
  });

  it('IPv6 addresses of one /64 are one client', async () => {
    for (let i = 0; i < UNAUTHORIZED_BURST_THRESHOLD; i++) {
      await ctx.app.inject({
        method: 'GET',
        url: '/auth/me',
        headers: BAD_BEARER,
        remoteAddress: `2001:db8:77:1::${(i + 1).toString(16)}`,
      });
    }
    await settle();
    const rows = await burstRows();
    expect(rows.filter((r) => r.ip?.startsWith('2001:db8:77:1:'))).toHaveLength(1);
  });

  it('a client below the threshold raises nothing', async () => {
    const user = '198.51.100.20';
    for (let i = 0; i < UNAUTHORIZED_BURST_THRESHOLD - 1; i++) {
      const res = await ctx.app.inject({
        method: 'GET',
        url: '/auth/me',
        headers: BAD_BEARER,
        remoteAddress: user,
      });
      expect(res.statusCode).toBe(401);
    }
    await settle();
    expect(await burstRows(user)).toHaveLength(0);
  });
});
