/** Appending to and reading the audit log. There is deliberately no update or delete here. */
import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Db } from '../db/database.js';
import { type ChainedContent, chainHash, GENESIS_HASH } from './audit.chain.js';

/** Any number: it only has to be the same for every writer of the chain. */
const AUDIT_LOCK_KEY = 0x617564_6974; // 'audit'

export interface AuditEntryInput {
  readonly actorId: string | null;
  readonly action: string;
  readonly targetType: string;
  readonly targetId?: string | null;
  readonly ip?: string | null;
  readonly detail?: Record<string, unknown>;
}

export interface AuditRow extends ChainedContent {
  readonly seq: string;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * Appends one entry inside `trx` (the change it records commits with it, or neither does). The
 * transaction-scoped advisory lock serializes writers, so two entries never claim the same
 * predecessor; it is released at commit.
 */
export async function appendAudit(trx: Db, input: AuditEntryInput, now: Date): Promise<string> {
  await sql`SELECT pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`.execute(trx);
  const last = await trx
    .selectFrom('audit_log')
    .select('hash')
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const prevHash = last?.hash ?? GENESIS_HASH;
  const entry: ChainedContent = {
    id: uuidv7(),
    // Millisecond precision, so the stored time reads back exactly as it was hashed.
    at: new Date(Math.floor(now.getTime())),
    actorId: input.actorId,
    action: input.action,
    targetType: input.targetType,
    targetId: input.targetId ?? null,
    ip: input.ip ?? null,
    detail: input.detail ?? {},
  };
  await trx
    .insertInto('audit_log')
    .values({
      id: entry.id,
      at: entry.at,
      actor_id: entry.actorId,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      ip: entry.ip,
      detail: JSON.stringify(entry.detail),
      prev_hash: prevHash,
      hash: chainHash(prevHash, entry),
    })
    .execute();
  return entry.id;
}

function toRow(r: {
  seq: string | number | bigint;
  id: string;
  at: Date;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  detail: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}): AuditRow {
  return {
    seq: String(r.seq),
    id: r.id,
    at: r.at,
    actorId: r.actor_id,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    ip: r.ip,
    detail: r.detail,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Entries after `afterSeq` in chain order (oldest first), at most `limit`. */
export async function readAuditAfter(db: Db, afterSeq: string, limit: number): Promise<AuditRow[]> {
  const rows = await db
    .selectFrom('audit_log')
    .selectAll()
    .where('seq', '>', afterSeq)
    .orderBy('seq', 'asc')
    .limit(limit)
    .execute();
  return rows.map(toRow);
}

/** Entries before `beforeSeq` (newest first), for the admin listing. */
export async function readAuditBefore(
  db: Db,
  beforeSeq: string | undefined,
  limit: number,
): Promise<AuditRow[]> {
  let q = db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(limit);
  if (beforeSeq !== undefined) q = q.where('seq', '<', beforeSeq);
  return (await q.execute()).map(toRow);
}

/** Appends one entry in its own transaction (for changes already committed elsewhere). */
export async function recordAudit(db: Db, input: AuditEntryInput, now: Date): Promise<string> {
  return db.transaction().execute((trx) => appendAudit(trx, input, now));
}
