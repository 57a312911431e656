/** The payment webhook credits a wallet once per Stripe event; other events are recorded (issue 7). */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Actors } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { useCast } from '../../../test/support/cast-app.js';
import {
  auditLedger,
  balance,
  CLEAN_LEDGER,
  deliver,
  paymentEvent,
  WEBHOOK_SECRET,
} from '../../../test/support/shop.js';
import { codeOf } from '../../../test/support/tokens.js';

let ctx: TestContext;
let actors: Actors;

useCast(
  (c, a) => {
    ctx = c;
    actors = a;
  },
  { env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } },
);

const balanceOf = async () => (await balance(ctx.app, actors.user.headers)).json().balanceCents;

async function outcomeOf(eventId: string): Promise<string | undefined> {
  const row = await ctx.database.db
    .selectFrom('payment_events')
    .select('outcome')
    .where('id', '=', eventId)
    .executeTakeFirst();
  return row?.outcome;
}

describe('POST /webhooks/payments', () => {
  it('payment_intent.succeeded credits amount_received to metadata.userId: 200 {received:true}', async () => {
    const before = await balanceOf();
    const id = `evt_${randomUUID()}`;
    const res = await deliver(ctx.app, paymentEvent(actors.user.userId, 2500, { id }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: true });
    expect(await balanceOf()).toBe(before + 2500);
    expect(await outcomeOf(id)).toBe('credited');
    const ledger = await ctx.app.inject({
      method: 'GET',
      url: '/wallet/ledger',
      headers: actors.user.headers,
    });
    expect(ledger.json().items[0]).toMatchObject({
      amountCents: 2500,
      kind: 'deposit',
      reference: id,
    });
    expect(await auditLedger(ctx.database.db)).toEqual(CLEAN_LEDGER);
  });

  it('records without crediting: another currency, unknown or deleted user, no metadata, other types', async () => {
    const deleted = randomUUID();
    await ctx.database.db
      .updateTable('users')
      .set({ deleted_at: new Date() })
      .where('id', '=', actors.unverified.userId)
      .execute();
    const cases: [string, string][] = [
      [paymentEvent(actors.user.userId, 100, { currency: 'eur' }), 'currency_mismatch'],
      [paymentEvent(deleted, 100), 'unknown_user'],
      [paymentEvent(actors.unverified.userId, 100), 'deleted_user'],
      [paymentEvent(undefined, 100), 'invalid_payment_intent'],
      [paymentEvent('not-a-uuid', 100), 'invalid_payment_intent'],
      [paymentEvent(actors.user.userId, 0), 'invalid_payment_intent'],
      [paymentEvent(actors.user.userId, -100), 'invalid_payment_intent'],
      [paymentEvent(actors.user.userId, 100, { type: 'payment_intent.created' }), 'ignored_type'],
      [paymentEvent(actors.user.userId, 100, { type: 'charge.refunded' }), 'ignored_type'],
    ];
    const before = await balanceOf();
    for (const [payload, outcome] of cases) {
      const res = await deliver(ctx.app, payload);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ received: true });
      expect(await outcomeOf(JSON.parse(payload).id)).toBe(outcome);
    }
    expect(await balanceOf()).toBe(before);
  });

  it('answers 503 service_unavailable when no signing secret is configured', async () => {
    const bare = await createTestApp({ database: ctx.database });
    try {
      const res = await deliver(bare.app, paymentEvent(actors.user.userId, 100));
      expect(res.statusCode).toBe(503);
      expect(codeOf(res)).toBe('service_unavailable');
    } finally {
      await bare.close();
    }
  });

  it('keeps the raw body to itself: other routes still parse JSON', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/products',
      headers: actors.admin.headers,
      payload: { name: 'After webhook', priceCents: 1, stock: 1 },
    });
    expect(res.statusCode).toBe(201);
  });
});
