/** Payment events, each stored once under the provider's event id. */
import type { Db } from '../../platform/db/database.js';

export interface PaymentEventRecord {
  readonly id: string;
  readonly type: string;
  readonly userId: string | null;
  readonly amountCents: number | null;
  readonly currency: string | null;
  readonly outcome: string;
  readonly now: Date;
}

/** Inserts the event; false when this event id was already recorded (a redelivery). */
export async function recordEvent(trx: Db, e: PaymentEventRecord): Promise<boolean> {
  const row = await trx
    .insertInto('payment_events')
    .values({
      id: e.id,
      type: e.type,
      user_id: e.userId,
      amount_cents: e.amountCents,
      currency: e.currency,
      outcome: e.outcome,
      received_at: e.now,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Locks the account's row FOR SHARE until the transaction ends and says whether it is live,
 * deleted (a tombstone) or unknown. A deletion in progress (which holds the row FOR UPDATE) is
 * waited for and then seen; one that starts later waits for this transaction's credit.
 */
export async function lockAccount(
  trx: Db,
  userId: string,
): Promise<'live' | 'deleted' | 'unknown'> {
  const row = await trx
    .selectFrom('users')
    .select('deleted_at')
    .where('id', '=', userId)
    .forShare()
    .executeTakeFirst();
  if (!row) return 'unknown';
  return row.deleted_at === null ? 'live' : 'deleted';
}
