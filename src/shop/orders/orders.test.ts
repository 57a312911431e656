/** Orders through the API: pricing from the catalog, wallet debit, idempotency, reads (issue 7). */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Actors, createActor } from '../../../test/support/actors.js';
import type { TestContext } from '../../../test/support/app.js';
import { useCast } from '../../../test/support/cast-app.js';
import {
  auditLedger,
  balance,
  CLEAN_LEDGER,
  createProduct,
  fund,
  placeOrder,
} from '../../../test/support/shop.js';
import { codeOf } from '../../../test/support/tokens.js';
import { requestHash, STALE_ATTEMPT_MS } from './orders.service.js';

let ctx: TestContext;
let actors: Actors;

const clock = useCast(
  (c, a) => {
    ctx = c;
    actors = a;
  },
  {
    setup: async (c, a) => {
      await fund(c.database.db, a.user.userId, 100_000);
    },
  },
);

describe('POST /orders', () => {
  it('prices from the catalog, debits the wallet, takes the stock: 201 + Location + order', async () => {
    const a = await createProduct(ctx.app, actors.admin.headers, { priceCents: 250, stock: 5 });
    const b = await createProduct(ctx.app, actors.admin.headers, { priceCents: 1000, stock: 1 });
    const before = (await balance(ctx.app, actors.user.headers)).json().balanceCents;
    const res = await placeOrder(ctx.app, actors.user.headers, {
      items: [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 1 },
      ],
      instructions: 'Leave at the door',
    });
    expect(res.statusCode).toBe(201);
    const order = res.json();
    expect(res.headers.location).toBe(`/orders/${order.id}`);
    expect(order).toEqual({
      id: expect.any(String),
      userId: actors.user.userId,
      items: [
        { productId: a, quantity: 2, unitPriceCents: 250 },
        { productId: b, quantity: 1, unitPriceCents: 1000 },
      ],
      totalCents: 1500,
      instructions: 'Leave at the door',
      status: 'paid',
      createdAt: expect.any(String),
    });
    const after = (await balance(ctx.app, actors.user.headers)).json();
    expect(after).toEqual({ balanceCents: before - 1500, currency: 'usd' });
    const stockA = (await ctx.app.inject({ method: 'GET', url: `/products/${a}` })).json().stock;
    expect(stockA).toBe(3);

    const ledger = await ctx.app.inject({
      method: 'GET',
      url: '/wallet/ledger',
      headers: actors.user.headers,
    });
    expect(ledger.json().items[0]).toMatchObject({
      amountCents: -1500,
      kind: 'purchase',
      reference: order.id,
    });
    expect(await auditLedger(ctx.database.db)).toEqual(CLEAN_LEDGER);
  });

  it('the same key and body return the first response; another body gets 422', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 100, stock: 50 });
    const key = `key-${randomUUID()}`;
    const body = { items: [{ productId: p, quantity: 1 }] };
    const first = await placeOrder(ctx.app, actors.user.headers, body, key);
    const second = await placeOrder(ctx.app, actors.user.headers, body, key);
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(second.headers.location).toBe(first.headers.location);
    const other = await placeOrder(
      ctx.app,
      actors.user.headers,
      { items: [{ productId: p, quantity: 2 }] },
      key,
    );
    expect(other.statusCode).toBe(422);
    expect(codeOf(other)).toBe('idempotency_key_reused');
    const stock = (await ctx.app.inject({ method: 'GET', url: `/products/${p}` })).json().stock;
    expect(stock).toBe(49);
  });

  it('keys are scoped to the user: another user may use the same key', async () => {
    await fund(ctx.database.db, actors.other.userId, 1000);
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 100, stock: 5 });
    const key = `shared-${randomUUID()}`;
    const body = { items: [{ productId: p, quantity: 1 }] };
    const mine = await placeOrder(ctx.app, actors.user.headers, body, key);
    const theirs = await placeOrder(ctx.app, actors.other.headers, body, key);
    expect(mine.statusCode).toBe(201);
    expect(theirs.statusCode).toBe(201);
    expect(theirs.json().id).not.toBe(mine.json().id);
    expect(theirs.json().userId).toBe(actors.other.userId);
  });

  it('refusals: 402 insufficient funds, 409 out of stock, 422 unknown or deleted product', async () => {
    const pricey = await createProduct(ctx.app, actors.admin.headers, { priceCents: 10_000_000 });
    const scarce = await createProduct(ctx.app, actors.admin.headers, { priceCents: 1, stock: 1 });
    const gone = await createProduct(ctx.app, actors.admin.headers);
    await ctx.app.inject({
      method: 'DELETE',
      url: `/products/${gone}`,
      headers: actors.admin.headers,
    });
    const cases: [unknown, number, string][] = [
      [{ items: [{ productId: pricey, quantity: 1 }] }, 402, 'insufficient_funds'],
      [{ items: [{ productId: scarce, quantity: 2 }] }, 409, 'out_of_stock'],
      [{ items: [{ productId: randomUUID(), quantity: 1 }] }, 422, 'unknown_product'],
      [{ items: [{ productId: gone, quantity: 1 }] }, 422, 'unknown_product'],
    ];
    const before = (await balance(ctx.app, actors.user.headers)).json().balanceCents;
    for (const [body, status, code] of cases) {
      const key = randomUUID();
      const res = await placeOrder(ctx.app, actors.user.headers, body, key);
      expect(res.statusCode).toBe(status);
      expect(codeOf(res)).toBe(code);
      // Stored like Stripe: the same key replays the same refusal.
      const again = await placeOrder(ctx.app, actors.user.headers, body, key);
      expect(again.statusCode).toBe(status);
      expect(codeOf(again)).toBe(code);
    }
    expect((await balance(ctx.app, actors.user.headers)).json().balanceCents).toBe(before);
    expect((await ctx.app.inject({ method: 'GET', url: `/products/${scarce}` })).json().stock).toBe(
      1,
    );
  });

  it('requires an Idempotency-Key (400) and a verified email (403)', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers);
    const body = { items: [{ productId: p, quantity: 1 }] };
    const none = await placeOrder(ctx.app, actors.user.headers, body, null);
    expect(none.statusCode).toBe(400);
    expect(codeOf(none)).toBe('idempotency_key_required');
    const unverified = await placeOrder(ctx.app, actors.unverified.headers, body);
    expect(unverified.statusCode).toBe(403);
    expect(codeOf(unverified)).toBe('email_not_verified');
    const anonymous = await placeOrder(ctx.app, {}, body);
    expect(anonymous.statusCode).toBe(401);
  });

  it('keeps an order readable after its product is deleted', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 10 });
    const order = (
      await placeOrder(ctx.app, actors.user.headers, {
        items: [{ productId: p, quantity: 1 }],
      })
    ).json();
    await ctx.app.inject({
      method: 'DELETE',
      url: `/products/${p}`,
      headers: actors.admin.headers,
    });
    const read = await ctx.app.inject({
      method: 'GET',
      url: `/orders/${order.id}`,
      headers: actors.user.headers,
    });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(order);
  });
});

describe('Idempotency-Key while the first request runs', () => {
  const inProgress = async (key: string, body: unknown, createdAt: Date) =>
    ctx.database.db
      .insertInto('idempotency_keys')
      .values({
        user_id: actors.user.userId,
        key,
        request_hash: requestHash(body),
        status: 'in_progress',
        claim: randomUUID(),
        created_at: createdAt,
      })
      .execute();

  it('answers 409 idempotency_request_in_progress and changes nothing', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 1, stock: 3 });
    const body = { items: [{ productId: p, quantity: 1 }] };
    const key = randomUUID();
    await inProgress(key, body, new Date(clock.now()));
    const res = await placeOrder(ctx.app, actors.user.headers, body, key);
    expect(res.statusCode).toBe(409);
    expect(codeOf(res)).toBe('idempotency_request_in_progress');
    expect((await ctx.app.inject({ method: 'GET', url: `/products/${p}` })).json().stock).toBe(3);
  });

  it('takes over an attempt in progress for longer than 5 minutes (its process died)', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 1, stock: 3 });
    const body = { items: [{ productId: p, quantity: 1 }] };
    const key = randomUUID();
    await inProgress(key, body, new Date(clock.now() - STALE_ATTEMPT_MS - 1000));
    const res = await placeOrder(ctx.app, actors.user.headers, body, key);
    expect(res.statusCode).toBe(201);
    const again = await placeOrder(ctx.app, actors.user.headers, body, key);
    expect(again.json().id).toBe(res.json().id);
    expect((await ctx.app.inject({ method: 'GET', url: `/products/${p}` })).json().stock).toBe(2);
  });
});

describe('GET /orders', () => {
  it('lists the caller own orders only, newest first, paged; admins too see only their own', async () => {
    // Its own buyer and orders: other tests' orders (whatever ran before) are not counted on.
    const buyer = await createActor(ctx.app, ctx.database.db, { prefix: 'buyer' });
    await fund(ctx.database.db, buyer.userId, 100);
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 1, stock: 100 });
    const placed: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await placeOrder(ctx.app, buyer.headers, {
        items: [{ productId: p, quantity: 1 }],
      });
      expect(res.statusCode).toBe(201);
      placed.push(res.json().id);
    }
    // Someone else's orders, admin or not, must not show up in the buyer's list.
    await placeOrder(ctx.app, actors.user.headers, { items: [{ productId: p, quantity: 1 }] });
    await fund(ctx.database.db, actors.admin.userId, 100);
    await placeOrder(ctx.app, actors.admin.headers, { items: [{ productId: p, quantity: 1 }] });
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/orders?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await ctx.app.inject({ method: 'GET', url, headers: buyer.headers });
      expect(res.statusCode).toBe(200);
      const page = res.json() as {
        items: { id: string; userId: string }[];
        nextCursor: string | null;
      };
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const o of page.items) expect(o.userId).toBe(buyer.userId);
      ids.push(...page.items.map((o) => o.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids).toEqual([...placed].reverse());
    expect([...ids].sort().reverse()).toEqual(ids);
    const adminList = await ctx.app.inject({
      method: 'GET',
      url: '/orders',
      headers: actors.admin.headers,
    });
    expect(adminList.json().items.map((o: { userId: string }) => o.userId)).toEqual([
      actors.admin.userId,
    ]);
  });

  it('an admin reads any order by id', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 1 });
    const order = (
      await placeOrder(ctx.app, actors.user.headers, {
        items: [{ productId: p, quantity: 1 }],
      })
    ).json();
    const res = await ctx.app.inject({
      method: 'GET',
      url: `/orders/${order.id}`,
      headers: actors.admin.headers,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().id).toBe(order.id);
  });
});
