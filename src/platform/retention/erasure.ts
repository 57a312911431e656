/**
 * What a deleted account leaves behind that identifies its owner, and its erasure. The account's
 * row stays as a tombstone (orders, ledger entries and posts point at it); its sessions keep
 * their times but lose the address and user agent; its security events keep their type and time
 * but lose the address and detail; its one-time tokens, social-login identities and idempotency
 * records go; its orders stay for accounting, without the free-text instructions. The wallet
 * ledger holds no personal data and the audit log is never touched (it is the chain).
 */
import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { PruneTask } from './pruner.js';

/** Erases the traces of one account, inside the transaction that deletes it. */
export async function eraseUserTraces(trx: Db, userId: string): Promise<void> {
  await trx
    .updateTable('sessions')
    .set({ ip: null, user_agent: null })
    .where('user_id', '=', userId)
    .execute();
  await trx
    .updateTable('security_events')
    .set({ ip: null, detail: '{}' })
    .where('user_id', '=', userId)
    .execute();
  await trx.deleteFrom('one_time_tokens').where('user_id', '=', userId).execute();
  // Social-login identities: the provider's subject and the address it asserted (issue 19).
  await sql`DELETE FROM identities WHERE user_id = ${userId}`.execute(trx);
  await sql`DELETE FROM idempotency_keys WHERE user_id = ${userId}`.execute(trx);
  await sql`UPDATE orders SET instructions = NULL
            WHERE user_id = ${userId} AND instructions IS NOT NULL`.execute(trx);
}

const DELETED = sql`EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id AND u.deleted_at IS NOT NULL)`;

/** One batched statement over rows `t` of `table` that `where` picks, locked with SKIP LOCKED. */
export function batched(
  table: string,
  action: (picked: RawBuilder<unknown>) => RawBuilder<unknown>,
  where: RawBuilder<unknown>,
): (db: Db, limit: number) => Promise<number> {
  return async (db, limit) => {
    const picked = sql`SELECT t.ctid FROM ${sql.table(table)} t WHERE ${where}
                       LIMIT ${limit} FOR UPDATE OF t SKIP LOCKED`;
    const result = await action(picked).execute(db);
    return Number(result.numAffectedRows ?? 0n);
  };
}

/**
 * The same erasure for accounts deleted before it existed: batched catch-up tasks, run by the
 * retention timer until they find nothing left.
 */
export function deletedUserTasks(): PruneTask[] {
  const task = (name: string, run: (db: Db, limit: number) => Promise<number>): PruneTask => ({
    name,
    untilDone: true,
    run: (db, _now, limit) => run(db, limit),
  });
  return [
    task(
      'deleted_users.sessions',
      batched(
        'sessions',
        (p) => sql`UPDATE sessions SET ip = NULL, user_agent = NULL WHERE ctid IN (${p})`,
        sql`(t.ip IS NOT NULL OR t.user_agent IS NOT NULL) AND ${DELETED}`,
      ),
    ),
    task(
      'deleted_users.security_events',
      batched(
        'security_events',
        (p) => sql`UPDATE security_events SET ip = NULL, detail = '{}' WHERE ctid IN (${p})`,
        sql`(t.ip IS NOT NULL OR t.detail <> '{}'::jsonb) AND ${DELETED}`,
      ),
    ),
    task(
      'deleted_users.one_time_tokens',
      batched(
        'one_time_tokens',
        (p) => sql`DELETE FROM one_time_tokens WHERE ctid IN (${p})`,
        DELETED,
      ),
    ),
    task(
      'deleted_users.identities',
      batched('identities', (p) => sql`DELETE FROM identities WHERE ctid IN (${p})`, DELETED),
    ),
    task(
      'deleted_users.idempotency_keys',
      batched(
        'idempotency_keys',
        (p) => sql`DELETE FROM idempotency_keys WHERE ctid IN (${p})`,
        DELETED,
      ),
    ),
    task(
      'deleted_users.order_instructions',
      batched(
        'orders',
        (p) => sql`UPDATE orders SET instructions = NULL WHERE ctid IN (${p})`,
        sql`t.instructions IS NOT NULL AND ${DELETED}`,
      ),
    ),
  ];
}
