/**
 * The wallet ledger (Kysely). Every movement is a transaction of two entries that sum to zero
 * (checked again by a deferred constraint trigger); a user's `wallets.balance_cents` is a cache
 * of their entries' sum, moved only here, in the same database transaction as the entries.
 */
import { uuidv7 } from 'uuidv7';
import type { Db } from '../../platform/db/database.js';

export const EXTERNAL_STRIPE = 'external:stripe';
export const SHOP_REVENUE = 'shop:revenue';

/** The ledger account of a user's wallet. */
export function walletAccount(userId: string): string {
  return `wallet:${userId}`;
}

export interface Movement {
  readonly userId: string;
  /** The system account on the other side (`external:stripe`, `shop:revenue`). */
  readonly counterparty: string;
  /** Positive: into the wallet; negative: out of it. */
  readonly amountCents: number;
  readonly currency: string;
  readonly kind: 'deposit' | 'purchase';
  readonly reference: string;
  readonly now: Date;
}

/** Records a movement's two entries; the caller has already moved the cached balance. */
async function insertEntries(trx: Db, m: Movement): Promise<void> {
  const transactionId = uuidv7();
  const entry = (account: string, amount: number) => ({
    id: uuidv7(),
    transaction_id: transactionId,
    account,
    amount_cents: amount,
    currency: m.currency,
    kind: m.kind,
    reference: m.reference,
    created_at: m.now,
  });
  await trx
    .insertInto('ledger_entries')
    .values([entry(walletAccount(m.userId), m.amountCents), entry(m.counterparty, -m.amountCents)])
    .execute();
}

/** Credits a wallet (creating it on first use). Call inside a transaction. */
export async function credit(trx: Db, m: Movement): Promise<void> {
  await trx
    .insertInto('wallets')
    .values({ user_id: m.userId, balance_cents: m.amountCents, updated_at: m.now })
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet((eb) => ({
        balance_cents: eb('wallets.balance_cents', '+', m.amountCents),
        updated_at: m.now,
      })),
    )
    .execute();
  await insertEntries(trx, m);
}

/**
 * Debits a wallet by `-m.amountCents` if, and only if, the balance covers it: one conditional
 * UPDATE, so concurrent debits serialize on the row and none can overdraw. Returns false when the
 * funds are missing. Call inside a transaction.
 */
export async function debit(trx: Db, m: Movement): Promise<boolean> {
  const cost = -m.amountCents;
  const row = await trx
    .updateTable('wallets')
    .set((eb) => ({ balance_cents: eb('balance_cents', '-', cost), updated_at: m.now }))
    .where('user_id', '=', m.userId)
    .where('balance_cents', '>=', cost)
    .returning('balance_cents')
    .executeTakeFirst();
  if (!row) return false;
  await insertEntries(trx, m);
  return true;
}

export async function balanceOf(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('wallets')
    .select('balance_cents')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(row?.balance_cents ?? 0);
}

/** A wallet's entries, newest first, after `cursor`. */
export function listEntries(db: Db, userId: string, limit: number, cursor?: string) {
  let q = db
    .selectFrom('ledger_entries')
    .select(['id', 'amount_cents', 'kind', 'reference', 'created_at'])
    .where('account', '=', walletAccount(userId));
  if (cursor) q = q.where('id', '<', cursor);
  return q.orderBy('id', 'desc').limit(limit).execute();
}
