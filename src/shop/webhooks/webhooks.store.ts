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

/** Whether a live (not deleted) account has this id. */
export async function userExists(db: Db, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row !== undefined;
}
