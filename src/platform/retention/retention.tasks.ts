/**
 * What is pruned, and after how long (RETENTION_* settings). Never pruned: the audit log (the
 * chain), the wallet ledger and payment events (accounting; a payment event's id is also what
 * makes a replayed webhook a no-op), users (a deleted account is a tombstone), signing keys.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { batched, deletedUserTasks } from './erasure.js';
import type { PruneTask } from './pruner.js';

export interface RetentionPeriods {
  /** Days a session (and its refresh tokens) is kept after it ended: expired, idle or revoked. */
  readonly sessionsDays: number;
  /** Days a one-time token (verify, reset, "not me") is kept after it expired or was used. */
  readonly oneTimeTokensDays: number;
  /** Hours an Idempotency-Key record is kept, from its first request. */
  readonly idempotencyHours: number;
  readonly securityEventsDays: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** A task deleting the rows of `table` that `where(cutoff)` picks, `ms` before now. */
function expire(
  table: string,
  ms: number,
  where: (cutoff: Date) => ReturnType<typeof sql>,
): PruneTask {
  return {
    name: table,
    run: (db: Db, now: Date, limit: number) =>
      batched(
        table,
        (picked) => sql`DELETE FROM ${sql.table(table)} WHERE ctid IN (${picked})`,
        where(new Date(now.getTime() - ms)),
      )(db, limit),
  };
}

/**
 * `lifecycleWebhook`: whether WEBHOOK_URL is set. Delivered lifecycle events go after
 * `securityEventsDays`; undelivered ones are kept for the receiver while a webhook is configured,
 * and pruned after the same days when none is (nobody will ever take them).
 */
export function retentionTasks(
  periods: RetentionPeriods,
  options: { readonly lifecycleWebhook: boolean } = { lifecycleWebhook: false },
): PruneTask[] {
  return [
    expire('lifecycle_events', periods.securityEventsDays * DAY_MS, (c) =>
      options.lifecycleWebhook
        ? sql`t.delivered_at < ${c}`
        : sql`(t.delivered_at < ${c} OR t.at < ${c})`,
    ),
    // Refresh tokens go with their session (ON DELETE CASCADE).
    expire(
      'sessions',
      periods.sessionsDays * DAY_MS,
      (c) => sql`(t.expires_at < ${c} OR t.revoked_at < ${c}
                 OR t.last_used_at + t.idle_timeout_seconds * interval '1 second' < ${c})`,
    ),
    expire(
      'one_time_tokens',
      periods.oneTimeTokensDays * DAY_MS,
      (c) => sql`(t.expires_at < ${c} OR t.used_at < ${c})`,
    ),
    expire('idempotency_keys', periods.idempotencyHours * HOUR_MS, (c) => sql`t.created_at < ${c}`),
    expire('security_events', periods.securityEventsDays * DAY_MS, (c) => sql`t.created_at < ${c}`),
    ...deletedUserTasks(),
  ];
}
