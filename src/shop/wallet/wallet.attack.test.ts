/**
 * Attacks on the wallet (issue 7): the balance recomputed from the ledger after mixed traffic,
 * the database itself refusing a negative balance, an unbalanced ledger transaction or an edit
 * of the append-only ledger, and
 * another user's ledger out of reach.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Actors } from '../../../test/support/actors.js';
import type { TestContext } from '../../../test/support/app.js';
import { useCast } from '../../../test/support/cast-app.js';
import {
  auditLedger,
  balance,
  CLEAN_LEDGER,
  createProduct,
  deliver,
  paymentEvent,
  placeOrder,
  WEBHOOK_SECRET,
} from '../../../test/support/shop.js';

let ctx: TestContext;
let actors: Actors;

useCast(
  (c, a) => {
    ctx = c;
    actors = a;
  },
  { env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } },
);

describe('the balance is the sum of the ledger', () => {
  it('after concurrent deposits and orders, every wallet equals the sum of its entries', async () => {
    const p = await createProduct(ctx.app, actors.admin.headers, { priceCents: 130, stock: 200 });
    const buyers = [actors.user, actors.other];
    const traffic = buyers.flatMap((b) => [
      ...Array.from({ length: 10 }, () => deliver(ctx.app, paymentEvent(b.userId, 100))),
      ...Array.from({ length: 10 }, () =>
        placeOrder(ctx.app, b.headers, { items: [{ productId: p, quantity: 1 }] }),
      ),
    ]);
    const results = await Promise.all(traffic);
    for (const r of results) expect([200, 201, 402]).toContain(r.statusCode);
    expect(await auditLedger(ctx.database.db)).toEqual(CLEAN_LEDGER);
    for (const b of buyers) {
      const sum = await sql<{ s: number }>`
        SELECT COALESCE(sum(amount_cents), 0)::bigint AS s FROM ledger_entries
        WHERE account = ${`wallet:${b.userId}`}`.execute(ctx.database.db);
      const shown = (await balance(ctx.app, b.headers)).json().balanceCents;
      expect(shown).toBe(Number(sum.rows[0]?.s));
      expect(shown).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('the database refuses what the code must never do', () => {
  it('a negative balance violates a CHECK constraint', async () => {
    await deliver(ctx.app, paymentEvent(actors.user.userId, 10));
    await expect(
      ctx.database.db
        .updateTable('wallets')
        .set({ balance_cents: -1 })
        .where('user_id', '=', actors.user.userId)
        .execute(),
    ).rejects.toThrow();
  });

  it('a ledger transaction whose entries do not sum to zero cannot commit', async () => {
    const entry = (transactionId: string, amount: number) => ({
      id: randomUUID(),
      transaction_id: transactionId,
      account: `wallet:${actors.user.userId}`,
      amount_cents: amount,
      currency: 'usd',
      kind: 'deposit',
      reference: 'forged',
      created_at: new Date(),
    });
    const t = randomUUID();
    await expect(
      ctx.database.db.transaction().execute(async (trx) => {
        await trx.insertInto('ledger_entries').values(entry(t, 1_000_000)).execute();
      }),
    ).rejects.toThrow();
    const rows = await ctx.database.db
      .selectFrom('ledger_entries')
      .select('id')
      .where('transaction_id', '=', t)
      .execute();
    expect(rows).toEqual([]);
  });

  it('ledger entries cannot be edited, deleted or truncated, even by the owner (P0001)', async () => {
    await deliver(ctx.app, paymentEvent(actors.user.userId, 25));
    const account = `wallet:${actors.user.userId}`;
    /** The statement's SQLSTATE; a statement that goes through is rolled back, and says so. */
    const refusal = async (statement: ReturnType<typeof sql>) => {
      try {
        await ctx.database.db.transaction().execute(async (trx) => {
          await statement.execute(trx);
          throw Object.assign(new Error('not refused'), { code: 'not-refused' });
        });
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return 'committed';
    };
    expect(
      await refusal(
        sql`UPDATE ledger_entries SET amount_cents = 1000000 WHERE account = ${account}`,
      ),
    ).toBe('P0001');
    expect(await refusal(sql`DELETE FROM ledger_entries WHERE account = ${account}`)).toBe('P0001');
    expect(await refusal(sql`TRUNCATE ledger_entries`)).toBe('P0001');
    expect(await auditLedger(ctx.database.db)).toEqual(CLEAN_LEDGER);
  });
});

describe('another user’s ledger', () => {
  it('is never listed, and a cursor is only an id', async () => {
    await deliver(ctx.app, paymentEvent(actors.other.userId, 55));
    const res = await ctx.app.inject({
      method: 'GET',
      url: '/wallet/ledger?limit=100',
      headers: actors.user.headers,
    });
    const otherRefs = await ctx.database.db
      .selectFrom('ledger_entries')
      .select('id')
      .where('account', '=', `wallet:${actors.other.userId}`)
      .execute();
    const shown = new Set(res.json().items.map((e: { id: string }) => e.id));
    for (const r of otherRefs) expect(shown.has(r.id)).toBe(false);
    for (const q of ["cursor=' OR 1=1 --", 'limit=0', 'limit=1000', 'userId=x', 'limit=1.5']) {
      const bad = await ctx.app.inject({
        method: 'GET',
        url: `/wallet/ledger?${q}`,
        headers: actors.user.headers,
      });
      expect(bad.statusCode, q).toBe(400);
    }
  });
});
