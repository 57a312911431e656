/** The wallet through the API: own balance and ledger, paged (issue 7). */
import { describe, expect, it } from 'vitest';
import type { Actors } from '../../../test/support/actors.js';
import type { TestContext } from '../../../test/support/app.js';
import { useCast } from '../../../test/support/cast-app.js';
import { balance, createProduct, fund, placeOrder } from '../../../test/support/shop.js';
import { codeOf } from '../../../test/support/tokens.js';

let ctx: TestContext;
let actors: Actors;

useCast(
  (c, a) => {
    ctx = c;
    actors = a;
  },
  { env: { CURRENCY: 'eur' } },
);

describe('wallet', () => {
  it('a new wallet is empty, in the configured currency', async () => {
    const res = await balance(ctx.app, actors.other.headers);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ balanceCents: 0, currency: 'eur' });
    expect(res.headers['cache-control']).toContain('no-store');
    const ledger = await ctx.app.inject({
      method: 'GET',
      url: '/wallet/ledger',
      headers: actors.other.headers,
    });
    expect(ledger.json()).toEqual({ items: [], nextCursor: null });
  });

  it('lists the caller own entries newest first, paged by cursor', async () => {
    for (const cents of [100, 200, 300]) await fund(ctx.database.db, actors.user.userId, cents);
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 50 });
    const order = await placeOrder(ctx.app, actors.user.headers, {
      items: [{ productId: p, quantity: 1 }],
    });
    expect(order.statusCode).toBe(201);
    const seen: { amountCents: number; kind: string }[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/wallet/ledger?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await ctx.app.inject({ method: 'GET', url, headers: actors.user.headers });
      expect(res.statusCode).toBe(200);
      const page = res.json() as { items: typeof seen; nextCursor: string | null };
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((e) => [e.amountCents, e.kind])).toEqual([
      [-50, 'purchase'],
      [300, 'deposit'],
      [200, 'deposit'],
      [100, 'deposit'],
    ]);
    const total = seen.reduce((s, e) => s + e.amountCents, 0);
    expect((await balance(ctx.app, actors.user.headers)).json().balanceCents).toBe(total);
  });

  it('needs a bearer token', async () => {
    for (const url of ['/wallet', '/wallet/ledger']) {
      const res = await ctx.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(401);
      expect(codeOf(res)).toBe('unauthorized');
    }
  });
});
