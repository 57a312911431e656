/**
 * Idempotency keys of `POST /orders`, scoped to the user. The row is inserted, in its own
 * committed statement, before the work starts; the primary key (user_id, key) decides which of
 * two concurrent requests runs. Only the attempt holding the row's `claim` may complete it.
 */
import type { Db } from '../../platform/db/database.js';

export interface KeyRow {
  request_hash: string;
  status: 'in_progress' | 'completed';
  response_status: number | null;
  response_body: unknown;
  created_at: Date;
}

/** Inserts the key as in progress; false when the user already has this key. */
export async function claimKey(
  db: Db,
  k: { userId: string; key: string; hash: string; claim: string; now: Date },
): Promise<boolean> {
  const row = await db
    .insertInto('idempotency_keys')
    .values({
      user_id: k.userId,
      key: k.key,
      request_hash: k.hash,
      status: 'in_progress',
      claim: k.claim,
      created_at: k.now,
    })
    .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
}

export function findKey(db: Db, userId: string, key: string): Promise<KeyRow | undefined> {
  return db
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'status', 'response_status', 'response_body', 'created_at'])
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .executeTakeFirst();
}

/**
 * Takes over a key whose attempt has been in progress since before `staleBefore` (its process
 * died). The old attempt, should it still be alive, can no longer complete: its claim is gone.
 */
export async function takeOverStaleKey(
  db: Db,
  k: { userId: string; key: string; claim: string; now: Date },
  staleBefore: Date,
): Promise<boolean> {
  const row = await db
    .updateTable('idempotency_keys')
    .set({ claim: k.claim, created_at: k.now })
    .where('user_id', '=', k.userId)
    .where('key', '=', k.key)
    .where('status', '=', 'in_progress')
    .where('created_at', '<', staleBefore)
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
}

/** Stores the response; false when this attempt no longer holds the claim. */
export async function completeKey(
  db: Db,
  k: { userId: string; key: string; claim: string; now: Date },
  status: number,
  body: unknown,
): Promise<boolean> {
  const row = await db
    .updateTable('idempotency_keys')
    .set({
      status: 'completed',
      response_status: status,
      response_body: JSON.stringify(body),
      completed_at: k.now,
    })
    .where('user_id', '=', k.userId)
    .where('key', '=', k.key)
    .where('claim', '=', k.claim)
    .where('status', '=', 'in_progress')
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
}

/** Frees a key whose attempt failed unexpectedly, so the client may retry with it. */
export async function releaseKey(
  db: Db,
  k: { userId: string; key: string; claim: string },
): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('user_id', '=', k.userId)
    .where('key', '=', k.key)
    .where('claim', '=', k.claim)
    .where('status', '=', 'in_progress')
    .execute();
}
