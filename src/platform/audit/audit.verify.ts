/** Recomputes the whole chain, in batches, and reports the first entry that does not hold. */
import type { Db } from '../db/database.js';
import { chainHash, GENESIS_HASH } from './audit.chain.js';
import { readAuditAfter } from './audit.store.js';

const BATCH = 1000;

export interface ChainReport {
  readonly intact: boolean;
  readonly entries: number;
  /** The first entry whose link or content does not match (null when intact). */
  readonly firstBrokenId: string | null;
  /** The newest entry's hash: keep a copy elsewhere to detect entries cut from the end. */
  readonly lastHash: string | null;
}

export async function verifyAuditChain(db: Db): Promise<ChainReport> {
  let prev = GENESIS_HASH;
  let afterSeq = '0';
  let entries = 0;
  let firstBrokenId: string | null = null;
  for (;;) {
    const rows = await readAuditAfter(db, afterSeq, BATCH);
    for (const row of rows) {
      entries += 1;
      // A removed entry breaks its successor's link; an edited one breaks its own hash.
      if (firstBrokenId === null && (row.prevHash !== prev || chainHash(prev, row) !== row.hash)) {
        firstBrokenId = row.id;
      }
      prev = row.hash;
    }
    const last = rows.at(-1);
    if (!last || rows.length < BATCH) {
      const lastHash = entries > 0 ? prev : null;
      return { intact: firstBrokenId === null, entries, firstBrokenId, lastHash };
    }
    afterSeq = last.seq;
  }
}
