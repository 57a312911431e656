/**
 * User-lifecycle events (issue 19; DESIGN.md "Lifecycle events"). A change records its event with
 * `emitLifecycle`, passing its own transaction when it has one, so the event exists exactly when
 * the change committed. The row waits in the `lifecycle_events` outbox until the delivery worker
 * (./delivery.ts) has POSTed `{id, type, at, userId, data}` to WEBHOOK_URL, signed like alerts.
 *
 * `data` goes to another system as it is: callers put in it only fields that are safe to share
 * (ids, roles, flags, reasons). Never a password hash, a secret, a token, a link or a code. Nothing
 * is stripped here: a caller that passes a secret is the bug.
 */
import { uuidv7 } from 'uuidv7';
import type { Db } from '../db/database.js';

export type LifecycleType =
  | 'user.created'
  | 'user.verified'
  | 'user.updated'
  | 'user.email_changed'
  | 'user.deleted'
  | 'user.locked'
  | 'user.unlocked'
  | 'user.mfa_changed'
  | 'user.password_changed'
  | 'session.revoked';

export const LIFECYCLE_TYPES: readonly LifecycleType[] = [
  'user.created',
  'user.verified',
  'user.updated',
  'user.email_changed',
  'user.deleted',
  'user.locked',
  'user.unlocked',
  'user.mfa_changed',
  'user.password_changed',
  'session.revoked',
];

/**
 * Records one event (a stable random `id` and `at`). `db` may be a Kysely transaction: the row
 * then commits or rolls back with the change. It is written whether or not a webhook is
 * configured (the outbox is the record; retention prunes delivered rows).
 */
export async function emitLifecycle(
  db: Db,
  event: { type: LifecycleType; userId: string; data?: Record<string, unknown> },
): Promise<void> {
  await db.insertInto('lifecycle_events').values(newLifecycleRow(event)).execute();
}

/**
 * The outbox row of an event, for a statement that writes it together with its change (register
 * inserts the account and its `user.created` in one statement, see insertUserIfNew).
 */
export function newLifecycleRow(event: {
  type: LifecycleType;
  userId: string;
  data?: Record<string, unknown>;
}) {
  const at = new Date();
  return {
    id: uuidv7(),
    type: event.type,
    user_id: event.userId,
    data: JSON.stringify(event.data ?? {}),
    at,
    next_attempt_at: at,
  };
}
