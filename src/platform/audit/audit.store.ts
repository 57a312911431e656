/** Appending to and reading the audit log. There is deliberately no update or delete here. */
import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Db } from '../db/database.js';
import type { SharedState } from '../state/shared-state.js';
import {
  type ChainAlg,
  type ChainedContent,
  GENESIS_HASH,
  KEYED_ALG,
  keyedChainHash,
  LEGACY_ALG,
} from './audit.chain.js';
import { loadHead, saveHead } from './audit.head.js';

/** Any number: it only has to be the same for every writer of the chain. */
const AUDIT_LOCK_KEY = 0x617564_6974; // 'audit'

/** Waits for every other writer of the chain; held until `trx` ends. */
export async function lockAuditChain(trx: Db): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`.execute(trx);
}

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
  readonly alg: ChainAlg;
}

/** What writing and verifying the chain needs: built once per app (app.ts). */
export interface AuditChain {
  /** The chain's HMAC key: `deriveKey(masterKey, 'audit-chain')`; the database never holds it. */
  readonly key: Buffer;
  /** Where the head is kept, outside the table. */
  readonly state: SharedState;
  readonly log: { error(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/**
 * Appends one entry inside `trx` (the change it records commits with it, or neither does). The
 * transaction-scoped advisory lock serializes writers, so two entries never claim the same
 * predecessor; it is released at commit. The new head goes to shared state while the lock is
 * held, so heads are written in chain order; a head that cannot be saved is logged, not fatal
 * (the audited change goes on; only truncation after it goes unnoticed until the next append).
 */
export async function appendAudit(
  chain: AuditChain,
  trx: Db,
  input: AuditEntryInput,
  now: Date,
): Promise<string> {
  await lockAuditChain(trx);
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
  const hash = keyedChainHash(chain.key, prevHash, entry);
  const inserted = await trx
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
      hash,
      alg: KEYED_ALG,
    })
    .returning(['seq', sql<string>`pg_current_xact_id()::text`.as('xid')])
    .executeTakeFirstOrThrow();
  try {
    await saveHead(chain.state, {
      seq: String(inserted.seq),
      id: entry.id,
      hash,
      prevHash,
      xid: inserted.xid,
    });
  } catch (err) {
    chain.log.error({ err, event: 'audit_head_not_saved' }, 'audit chain head not saved');
  }
  return entry.id;
}

/**
 * Run once per app start. A chain whose newest entry is still plain SHA-256 (written before the
 * chain was keyed) gets a keyed `audit.chain_keyed` entry, which vouches for everything before
 * it: from then on the newest entry of an intact chain is always keyed. A state with no head (a
 * new Redis, or the in-memory state of the embedded default after a restart) is anchored at the
 * newest entry, which is also logged so an operator can compare it later.
 */
export async function startAuditChain(chain: AuditChain, db: Db, now: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await lockAuditChain(trx);
    const tail = await trx
      .selectFrom('audit_log')
      .select(['seq', 'id', 'hash', 'prev_hash', 'alg'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!tail) return;
    if (tail.alg === LEGACY_ALG) {
      await appendAudit(
        chain,
        trx,
        { actorId: null, action: 'audit.chain_keyed', targetType: 'system', detail: {} },
        now,
      );
      return;
    }
    if ((await loadHead(chain.state)) !== null) return;
    const head = {
      seq: String(tail.seq),
      id: tail.id,
      hash: tail.hash,
      prevHash: tail.prev_hash,
      xid: null,
    };
    await saveHead(chain.state, head);
    chain.log.info(
      { event: 'audit_head_anchored', seq: head.seq, id: head.id, hash: head.hash },
      'audit chain head anchored at the newest entry',
    );
  });
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
  alg: ChainAlg;
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
    alg: r.alg,
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
export async function recordAudit(
  chain: AuditChain,
  db: Db,
  input: AuditEntryInput,
  now: Date,
): Promise<string> {
  return db.transaction().execute((trx) => appendAudit(chain, trx, input, now));
}
