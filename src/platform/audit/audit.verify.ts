/**
 * Recomputes the whole chain, in batches, and reports the first entry that does not hold; then
 * compares the table's end with the head kept in shared state, so entries cut from the end are
 * reported too.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { chainHash, GENESIS_HASH, KEYED_ALG, LEGACY_ALG } from './audit.chain.js';
import { loadHead } from './audit.head.js';
import { type AuditChain, lockAuditChain, readAuditAfter } from './audit.store.js';

const BATCH = 1000;

export interface ChainReport {
  readonly intact: boolean;
  readonly entries: number;
  /** The first entry whose link or content does not match (null when intact). */
  readonly firstBrokenId: string | null;
  /** The newest entry's hash. */
  readonly lastHash: string | null;
  /** The head kept outside the table names an entry the table no longer has. */
  readonly truncated: boolean;
}

export async function verifyAuditChain(chain: AuditChain, db: Db): Promise<ChainReport> {
  let prev = GENESIS_HASH;
  let afterSeq = '0';
  let entries = 0;
  let firstBrokenId: string | null = null;
  let keyedSeen = false;
  // The first of the plain SHA-256 entries since the last keyed one: only a keyed entry after
  // them vouches for them (its MAC covers their last hash), so a chain cannot end with them.
  let unvouched: string | null = null;
  for (;;) {
    const rows = await readAuditAfter(db, afterSeq, BATCH);
    for (const row of rows) {
      entries += 1;
      // A removed entry breaks its successor's link; an edited one breaks its own hash; a
      // keyed entry relabelled as plain SHA-256 cannot come after a keyed one.
      const broken =
        row.prevHash !== prev ||
        (row.alg !== KEYED_ALG && row.alg !== LEGACY_ALG) ||
        (row.alg === LEGACY_ALG && keyedSeen) ||
        chainHash(chain.key, row.alg, prev, row) !== row.hash;
      if (firstBrokenId === null && broken) firstBrokenId = row.id;
      if (row.alg === KEYED_ALG) {
        keyedSeen = true;
        unvouched = null;
      } else if (unvouched === null) {
        unvouched = row.id;
      }
      prev = row.hash;
    }
    const last = rows.at(-1);
    if (!last || rows.length < BATCH) break;
    afterSeq = last.seq;
  }
  firstBrokenId ??= unvouched;
  const head = await checkHead(chain, db);
  firstBrokenId ??= head.rewrittenId;
  return {
    intact: firstBrokenId === null && !head.truncated,
    entries,
    firstBrokenId,
    lastHash: entries > 0 ? prev : null,
    truncated: head.truncated,
  };
}

/**
 * Holds the chain's lock, so no append is half done: the head in state is the newest append
 * attempt, and its transaction has either committed (its entry must be in the table) or rolled
 * back (then the entry it followed must be).
 */
async function checkHead(
  chain: AuditChain,
  db: Db,
): Promise<{ truncated: boolean; rewrittenId: string | null }> {
  return db.transaction().execute(async (trx) => {
    await lockAuditChain(trx);
    const head = await loadHead(chain.state);
    if (!head) return { truncated: false, rewrittenId: null };
    const row = await trx
      .selectFrom('audit_log')
      .select('hash')
      .where('id', '=', head.id)
      .executeTakeFirst();
    if (row) return { truncated: false, rewrittenId: row.hash === head.hash ? null : head.id };
    if (head.xid !== null && (await transactionStatus(trx, head.xid)) === 'aborted') {
      if (head.prevHash === GENESIS_HASH) return { truncated: false, rewrittenId: null };
      const before = await trx
        .selectFrom('audit_log')
        .select('id')
        .where('hash', '=', head.prevHash)
        .executeTakeFirst();
      return { truncated: before === undefined, rewrittenId: null };
    }
    return { truncated: true, rewrittenId: null };
  });
}

/** `committed`, `aborted`, `in progress`, or null when PostgreSQL no longer knows (or never did). */
async function transactionStatus(trx: Db, xid: string): Promise<string | null> {
  try {
    const { rows } = await sql<{ status: string | null }>`
      SELECT pg_xact_status(${xid}::xid8) AS status`.execute(trx);
    return rows[0]?.status ?? null;
  } catch {
    // An xid from the future: the head belongs to another database.
    return null;
  }
}
