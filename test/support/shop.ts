/** Shop helpers for tests: products, funded wallets, orders, signed webhooks, ledger audits. */
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import Stripe from 'stripe';
import type { App } from '../../src/app.js';
import type { Db } from '../../src/platform/db/database.js';
import { credit, EXTERNAL_STRIPE } from '../../src/shop/wallet/wallet.store.js';

export const WEBHOOK_SECRET = 'whsec_test_bastion_0123456789abcdef';

export interface ProductInput {
  name?: string;
  description?: string;
  priceCents?: number;
  stock?: number;
}

/** Creates a product through the admin API; returns its id. */
export async function createProduct(
  app: App,
  adminHeaders: Record<string, string>,
  input: ProductInput = {},
): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/products',
    headers: adminHeaders,
    payload: { name: 'Widget', priceCents: 500, stock: 10, ...input },
  });
  if (res.statusCode !== 201)
    throw new Error(`product create failed: ${res.statusCode} ${res.body}`);
  return (res.json() as { id: string }).id;
}

/** Credits a wallet directly in the ledger (a deposit from `external:stripe`). */
export async function fund(db: Db, userId: string, cents: number): Promise<void> {
  await db.transaction().execute((trx) =>
    credit(trx, {
      userId,
      counterparty: EXTERNAL_STRIPE,
      amountCents: cents,
      currency: 'usd',
      kind: 'deposit',
      reference: `test-${randomUUID()}`,
      now: new Date(),
    }),
  );
}

export function placeOrder(
  app: App,
  headers: Record<string, string>,
  payload: unknown,
  key: string | null = randomUUID(),
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/orders',
    headers: key === null ? headers : { ...headers, 'idempotency-key': key },
    payload: payload as Record<string, unknown>,
  });
}

export function balance(
  app: App,
  headers: Record<string, string>,
): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: '/wallet', headers });
}

/** A `payment_intent.succeeded` event as Stripe sends it (the fields we read, and a few more). */
export function paymentEvent(
  userId: string | undefined,
  amount: number,
  options: { id?: string; currency?: string; type?: string } = {},
): string {
  return JSON.stringify({
    id: options.id ?? `evt_${randomUUID().replaceAll('-', '')}`,
    object: 'event',
    type: options.type ?? 'payment_intent.succeeded',
    livemode: false,
    data: {
      object: {
        id: `pi_${randomUUID().replaceAll('-', '')}`,
        object: 'payment_intent',
        amount,
        amount_received: amount,
        currency: options.currency ?? 'usd',
        metadata: userId === undefined ? {} : { userId },
      },
    },
  });
}

/** Posts `payload` to the webhook, signed with `secret` at `timestamp` (seconds). */
export function deliver(
  app: App,
  payload: string,
  options: { secret?: string; timestamp?: number; signature?: string | null } = {},
): Promise<LightMyRequestResponse> {
  const signature =
    options.signature !== undefined
      ? options.signature
      : Stripe.webhooks.generateTestHeaderString({
          payload,
          secret: options.secret ?? WEBHOOK_SECRET,
          ...(options.timestamp !== undefined && { timestamp: options.timestamp }),
        });
  return app.inject({
    method: 'POST',
    url: '/webhooks/payments',
    headers: {
      'content-type': 'application/json',
      ...(signature !== null && { 'stripe-signature': signature }),
    },
    payload,
  });
}

export interface LedgerAudit {
  /** Wallets whose cached balance differs from the sum of their entries. */
  readonly driftedWallets: number;
  /** Ledger transactions whose entries do not sum to zero. */
  readonly unbalancedTransactions: number;
  /** Sum of every entry in the ledger (zero in double entry). */
  readonly total: number;
  readonly negativeBalances: number;
  readonly negativeStock: number;
}

/** Recomputes every balance from the ledger and checks the double-entry invariants. */
export async function auditLedger(db: Db): Promise<LedgerAudit> {
  const drift = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM wallets w
    WHERE w.balance_cents <> COALESCE((SELECT sum(e.amount_cents) FROM ledger_entries e
                                       WHERE e.account = 'wallet:' || w.user_id::text), 0)`.execute(
    db,
  );
  const orphan = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM (SELECT DISTINCT account FROM ledger_entries
      WHERE account LIKE 'wallet:%') a
    WHERE NOT EXISTS (SELECT 1 FROM wallets w WHERE 'wallet:' || w.user_id::text = a.account)`.execute(
    db,
  );
  const unbalanced = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM (SELECT transaction_id FROM ledger_entries
      GROUP BY transaction_id HAVING sum(amount_cents) <> 0) t`.execute(db);
  const total = await sql<{ s: number }>`
    SELECT COALESCE(sum(amount_cents), 0)::bigint AS s FROM ledger_entries`.execute(db);
  const negBal = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM wallets WHERE balance_cents < 0`.execute(db);
  const negStock = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM products WHERE stock < 0`.execute(db);
  return {
    driftedWallets: (drift.rows[0]?.n ?? 0) + (orphan.rows[0]?.n ?? 0),
    unbalancedTransactions: unbalanced.rows[0]?.n ?? 0,
    total: Number(total.rows[0]?.s ?? 0),
    negativeBalances: negBal.rows[0]?.n ?? 0,
    negativeStock: negStock.rows[0]?.n ?? 0,
  };
}

/** The audit every money test ends with. */
export const CLEAN_LEDGER: LedgerAudit = {
  driftedWallets: 0,
  unbalancedTransactions: 0,
  total: 0,
  negativeBalances: 0,
  negativeStock: 0,
};
