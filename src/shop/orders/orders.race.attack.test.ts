/**
 * Races on orders (issue 7): 50 concurrent orders for the last items, for the last cents, and
 * across two products in opposite orders; a price change racing the orders. Always on PostgreSQL
 * (real concurrent transactions), whatever DATABASE_URL says: PGlite runs one transaction at a
 * time, so an unguarded read-then-write would pass there. Under CI=true a missing PostgreSQL
 * fails the file instead of skipping it. Every race ends with exact stock and balances and a
 * ledger audit (balances recomputed from the entries).
 */
import { describe, expect, it } from 'vitest';
import { type Actor, type Actors, createActor } from '../../../test/support/actors.js';
import type { TestContext } from '../../../test/support/app.js';
import { useCast } from '../../../test/support/cast-app.js';
import { openPostgresTestDatabase, postgresAdminUrl } from '../../../test/support/services.js';
import {
  auditLedger,
  balance,
  CLEAN_LEDGER,
  createProduct,
  fund,
  placeOrder,
} from '../../../test/support/shop.js';
import { codeOf } from '../../../test/support/tokens.js';

const PG_URL = await postgresAdminUrl(); // throws under CI=true when PostgreSQL does not answer

let ctx: TestContext;
let actors: Actors;

const stockOf = async (id: string) =>
  (await ctx.app.inject({ method: 'GET', url: `/products/${id}` })).json().stock as number;
const balanceOf = async (a: Actor) =>
  (await balance(ctx.app, a.headers)).json().balanceCents as number;

describe.skipIf(!PG_URL)('on PostgreSQL', () => {
  useCast(
    (c, a) => {
      ctx = c;
      actors = a;
    },
    {
      database: () => openPostgresTestDatabase(PG_URL as string),
      setup: async (c, a) => {
        await fund(c.database.db, a.user.userId, 1_000_000);
      },
    },
  );

  describe('50 concurrent orders race', () => {
    it('for the last items: exactly the stock is sold, the rest get 409 out_of_stock', async () => {
      const buyers = [actors.user, actors.other, actors.moderator];
      for (const b of buyers.slice(1)) await fund(ctx.database.db, b.userId, 100_000);
      const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 7, stock: 10 });
      const before = await Promise.all(buyers.map(balanceOf));
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          placeOrder(ctx.app, (buyers[i % buyers.length] as Actor).headers, {
            items: [{ productId: p, quantity: 1 }],
          }),
        ),
      );
      const ok = results.filter((r) => r.statusCode === 201);
      expect(ok.length).toBe(10);
      for (const r of results.filter((x) => x.statusCode !== 201)) {
        expect(r.statusCode).toBe(409);
        expect(codeOf(r)).toBe('out_of_stock');
      }
      expect(await stockOf(p)).toBe(0);
      const after = await Promise.all(buyers.map(balanceOf));
      const spent = before.reduce((s, v, i) => s + v - (after[i] ?? 0), 0);
      expect(spent).toBe(70);
      expect(await auditLedger(ctx.database.db)).toEqual(CLEAN_LEDGER);
    });

    it('for the last cents: exactly as many orders as the balance covers, the rest get 402', async () => {
      const buyer = await createActor(ctx.app, ctx.database.db, { prefix: 'racer' });
      await fund(ctx.database.db, buyer.userId, 7 * 300 + 299);
      const p = await createProduct(ctx.app, actors.admin.headers, {
        priceCents: 300,
        stock: 1000,
      });
      const results = await Promise.all(
        Array.from({ length: 50 }, () =>
          placeOrder(ctx.app, buyer.headers, { items: [{ productId: p, quantity: 1 }] }),
        ),
      );
      expect(results.filter((r) => r.statusCode === 201).length).toBe(7);
      for (const r of results.filter((x) => x.statusCode !== 201)) {
        expect(r.statusCode).toBe(402);
        expect(codeOf(r)).toBe('insufficient_funds');
      }
      expect(await balanceOf(buyer)).toBe(299);
      expect(await stockOf(p)).toBe(1000 - 7);
      expect(await auditLedger(ctx.database.db)).toEqual(CLEAN_LEDGER);
    });

    it('for both at once, across two products locked in opposite orders: no deadlock, exact ends', async () => {
      const buyer = await createActor(ctx.app, ctx.database.db, { prefix: 'racer2' });
      await fund(ctx.database.db, buyer.userId, 12 * 110);
      const a = await createProduct(ctx.app, actors.admin.headers, { priceCents: 100, stock: 15 });
      const b = await createProduct(ctx.app, actors.admin.headers, { priceCents: 10, stock: 40 });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const items = [
            { productId: a, quantity: 1 },
            { productId: b, quantity: 1 },
          ];
          return placeOrder(ctx.app, buyer.headers, { items: i % 2 ? items : items.reverse() });
        }),
      );
      const ok = results.filter((r) => r.statusCode === 201).length;
      expect(ok).toBe(12);
      for (const r of results.filter((x) => x.statusCode !== 201)) {
        expect([402, 409]).toContain(r.statusCode);
      }
      expect(await balanceOf(buyer)).toBe(0);
      expect(await stockOf(a)).toBe(15 - 12);
      expect(await stockOf(b)).toBe(40 - 12);
      expect(await auditLedger(ctx.database.db)).toEqual(CLEAN_LEDGER);
    });
  });

  describe('a price change racing the orders', () => {
    it('every order is charged a price the product really had, and the ledger matches the orders', async () => {
      const buyer = await createActor(ctx.app, ctx.database.db, { prefix: 'racer3' });
      await fund(ctx.database.db, buyer.userId, 100_000);
      const p = await createProduct(ctx.app, actors.admin.headers, {
        priceCents: 100,
        stock: 1000,
      });
      const orders = Array.from({ length: 30 }, () =>
        placeOrder(ctx.app, buyer.headers, { items: [{ productId: p, quantity: 2 }] }),
      );
      const patches = Array.from({ length: 10 }, (_, i) =>
        ctx.app.inject({
          method: 'PATCH',
          url: `/products/${p}`,
          headers: actors.admin.headers,
          payload: { priceCents: i % 2 ? 100 : 200 },
        }),
      );
      const results = await Promise.all(orders);
      await Promise.all(patches);
      let charged = 0;
      for (const r of results) {
        expect(r.statusCode).toBe(201);
        const order = r.json() as { totalCents: number; items: { unitPriceCents: number }[] };
        expect([100, 200]).toContain(order.items[0]?.unitPriceCents);
        expect(order.totalCents).toBe((order.items[0]?.unitPriceCents ?? 0) * 2);
        charged += order.totalCents;
      }
      expect(await balanceOf(buyer)).toBe(100_000 - charged);
      expect(await stockOf(p)).toBe(1000 - 60);
      expect(await auditLedger(ctx.database.db)).toEqual(CLEAN_LEDGER);
    });
  });
});
