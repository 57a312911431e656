/**
 * Attacks on orders (issue 7): client-sent prices, totals and buyers; hostile quantities; someone
 * else's orders; one Idempotency-Key sent many times at once; SQL strings in every string field.
 * The races for stock and money are in orders.race.attack.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Actor, Actors } from '../../../test/support/actors.js';
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

let ctx: TestContext;
let actors: Actors;

const SQL_STRINGS = [
  "'; DROP TABLE orders; --",
  "' OR '1'='1",
  '1; UPDATE wallets SET balance_cents = 999999999',
  "Robert'); DELETE FROM products;--",
  '$1::text',
  '\\x27 UNION SELECT * FROM users --',
];

useCast(
  (c, a) => {
    ctx = c;
    actors = a;
  },
  {
    setup: async (c, a) => {
      await fund(c.database.db, a.user.userId, 1_000_000);
    },
  },
);

const stockOf = async (id: string) =>
  (await ctx.app.inject({ method: 'GET', url: `/products/${id}` })).json().stock as number;
const balanceOf = async (a: Actor) =>
  (await balance(ctx.app, a.headers)).json().balanceCents as number;

describe('a client cannot set the price, the total or the buyer', () => {
  it('refuses price, unitPriceCents, totalCents, userId, status anywhere in the body (400)', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 5000 });
    const line = { productId: p, quantity: 1 };
    const bodies = [
      { items: [{ ...line, price: 1 }] },
      { items: [{ ...line, unitPriceCents: 1 }] },
      { items: [{ ...line, priceCents: 1 }] },
      { items: [line], totalCents: 1 },
      { items: [line], total: 1 },
      { items: [line], userId: actors.other.userId },
      { items: [line], status: 'refunded' },
      { items: [line], id: randomUUID() },
    ];
    const before = await balanceOf(actors.user);
    for (const body of bodies) {
      const res = await placeOrder(ctx.app, actors.user.headers, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(codeOf(res)).toBe('validation_failed');
    }
    expect(await balanceOf(actors.user)).toBe(before);
    expect(await stockOf(p)).toBe(10);
  });
});

describe('hostile quantities and item lists', () => {
  it('refuses zero, negative, fractional, huge, string and non-number quantities (400)', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 1, stock: 1000 });
    for (const quantity of [
      0,
      -1,
      -1000,
      1.5,
      0.0001,
      101,
      1001,
      2 ** 31,
      2 ** 53 + 2,
      1e308,
      '2',
      null,
      true,
      [1],
    ]) {
      const res = await placeOrder(ctx.app, actors.user.headers, {
        items: [{ productId: p, quantity }],
      });
      expect(res.statusCode, String(quantity)).toBe(400);
      expect(codeOf(res)).toBe('validation_failed');
    }
    expect(await stockOf(p)).toBe(1000);
    // The bound itself is allowed (SECURITY-CHECKLIST BIZ-01: 1 to 100).
    const most = await placeOrder(ctx.app, actors.user.headers, {
      items: [{ productId: p, quantity: 100 }],
    });
    expect(most.statusCode, most.body).toBe(201);
    expect(await stockOf(p)).toBe(900);
  });

  it('refuses empty, oversized, duplicated or malformed item lists (400)', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers);
    const bodies = [
      {},
      { items: [] },
      { items: {} },
      { items: Array.from({ length: 51 }, () => ({ productId: randomUUID(), quantity: 1 })) },
      {
        items: [
          { productId: p, quantity: 1 },
          { productId: p, quantity: 1 },
        ],
      },
      {
        items: [
          { productId: p, quantity: 1 },
          { productId: p.toUpperCase(), quantity: 1 },
        ],
      },
      { items: [{ productId: 'not-a-uuid', quantity: 1 }] },
      { items: [{ productId: "' OR 1=1 --", quantity: 1 }] },
      { items: [{ quantity: 1 }] },
    ];
    for (const body of bodies) {
      const res = await placeOrder(ctx.app, actors.user.headers, body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(codeOf(res)).toBe('validation_failed');
    }
    expect(await stockOf(p)).toBe(10);
  });

  it('instructions: one line of plain text up to 500 characters; control, line-separator and bidi characters are refused (issue 7)', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 1, stock: 100 });
    const items = [{ productId: p, quantity: 1 }];
    for (const instructions of [
      'x'.repeat(501),
      'a\u0000b',
      'line\nbreak',
      'esc\u001b[31m',
      'del\u007f',
      'c1\u0085',
      'invoice_\u202Efdp.exe',
      'rtl \u202B embed',
      'isolate \u2066x\u2069',
      'line\u2028separator',
      'para\u2029separator',
      'lone \ud800 surrogate',
      5,
    ]) {
      const res = await placeOrder(ctx.app, actors.user.headers, { items, instructions });
      expect(res.statusCode, JSON.stringify(instructions).slice(0, 40)).toBe(400);
      expect(codeOf(res)).toBe('validation_failed');
    }
    const ok = await placeOrder(ctx.app, actors.user.headers, {
      items,
      instructions: 'é'.repeat(500),
    });
    expect(ok.statusCode).toBe(201);
  });

  it('an order with a product that does not exist takes nothing from the products that do', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 1, stock: 5 });
    const res = await placeOrder(ctx.app, actors.user.headers, {
      items: [
        { productId: p, quantity: 5 },
        { productId: randomUUID(), quantity: 1 },
      ],
    });
    expect(res.statusCode).toBe(422);
    expect(codeOf(res)).toBe('unknown_product');
    expect(await stockOf(p)).toBe(5);
  });
});

describe('idempotency keys', () => {
  it('refuses missing, empty, too long, spaced or non-ASCII keys with idempotency_key_required', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers);
    for (const key of ['', 'k'.repeat(256), 'has space', 'tab\tkey', 'clé', 'new\nline']) {
      const res = await ctx.app
        .inject({
          method: 'POST',
          url: '/orders',
          headers: { ...actors.user.headers, 'idempotency-key': key },
          payload: { items: [{ productId: p, quantity: 1 }] },
        })
        .catch(() => undefined); // a header light-my-request itself refuses to send is no attack
      if (!res) continue;
      expect(res.statusCode, JSON.stringify(key)).toBe(400);
      expect(codeOf(res)).toBe('idempotency_key_required');
    }
    expect(await stockOf(p)).toBe(10);
  });

  it('one key sent 20 times at once makes one order; every 201 is that order', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 3, stock: 100 });
    const key = randomUUID();
    const body = { items: [{ productId: p, quantity: 2 }] };
    const before = await balanceOf(actors.user);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => placeOrder(ctx.app, actors.user.headers, body, key)),
    );
    const created = results.filter((r) => r.statusCode === 201);
    const busy = results.filter((r) => r.statusCode === 409);
    expect(created.length + busy.length).toBe(20);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const r of busy) expect(codeOf(r)).toBe('idempotency_request_in_progress');
    expect(new Set(created.map((r) => r.json().id)).size).toBe(1);
    expect(await stockOf(p)).toBe(98);
    expect(await balanceOf(actors.user)).toBe(before - 6);
    const again = await placeOrder(ctx.app, actors.user.headers, body, key);
    expect(again.statusCode).toBe(201);
    expect(again.json().id).toBe(created[0]?.json().id);
  });
});

describe('someone else’s orders', () => {
  it('GET /orders/:id of another user is 404 not_found, exactly as a missing id', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 1 });
    const order = (
      await placeOrder(ctx.app, actors.user.headers, { items: [{ productId: p, quantity: 1 }] })
    ).json();
    const theirs = await ctx.app.inject({
      method: 'GET',
      url: `/orders/${order.id}`,
      headers: actors.other.headers,
    });
    const missing = await ctx.app.inject({
      method: 'GET',
      url: `/orders/${randomUUID()}`,
      headers: actors.other.headers,
    });
    for (const res of [
      theirs,
      missing,
      await ctx.app.inject({
        method: 'GET',
        url: `/orders/${order.id}`,
        headers: actors.moderator.headers,
      }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(codeOf(res)).toBe('not_found');
    }
    const { requestId: _a, ...a } = theirs.json();
    const { requestId: _b, ...b } = missing.json();
    expect(a).toEqual(b);
    const list = await ctx.app.inject({
      method: 'GET',
      url: '/orders?limit=100',
      headers: actors.other.headers,
    });
    expect(list.json().items.map((o: { id: string }) => o.id)).not.toContain(order.id);
    const bad = await ctx.app.inject({
      method: 'GET',
      url: "/orders/1' OR '1'='1",
      headers: actors.other.headers,
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe('SQL strings are data', () => {
  it('in instructions and in the Idempotency-Key: stored verbatim, replayed, nothing breaks', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 1, stock: 100 });
    for (const text of SQL_STRINGS) {
      const key = `${text.replace(/\s/g, '')}-${randomUUID()}`;
      const body = { items: [{ productId: p, quantity: 1 }], instructions: text };
      const res = await placeOrder(ctx.app, actors.user.headers, body, key);
      expect(res.statusCode, text).toBe(201);
      expect(res.json().instructions).toBe(text);
      const replay = await placeOrder(ctx.app, actors.user.headers, body, key);
      expect(replay.json().id).toBe(res.json().id);
      const read = await ctx.app.inject({
        method: 'GET',
        url: `/orders/${res.json().id}`,
        headers: actors.user.headers,
      });
      expect(read.json().instructions).toBe(text);
    }
    expect(await stockOf(p)).toBe(100 - SQL_STRINGS.length);
    expect(await auditLedger(ctx.database.db)).toEqual(CLEAN_LEDGER);
  });
});
