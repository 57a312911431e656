/**
 * The retention sweep of images nothing points at (issue 17). Every path that replaces or deletes
 * an image removes its row (avatars in the same transaction as the change), so this only finds
 * what a crash between storing an upload and pointing a row at it left behind, and an older
 * version's imported files that no row names. An image is only a candidate an hour after it was
 * stored, long after any upload's own transaction has committed or failed.
 */
import { type RawBuilder, sql } from 'kysely';
import { batched } from '../retention/erasure.js';
import type { PruneTask } from '../retention/pruner.js';
import { MEDIA_PREFIX } from './media.store.js';

/** A column holding `/media/<name>` paths (each has a partial index, migration 0017). */
export interface MediaReference {
  readonly table: string;
  readonly column: string;
}

/** Every column that points at a stored image: a new one must be added here. */
export const MEDIA_REFERENCES: readonly MediaReference[] = [
  { table: 'users', column: 'avatar_url' },
  { table: 'products', column: 'image_url' },
];

export const MEDIA_ORPHAN_GRACE_MS = 3_600_000;

function unreferenced(refs: readonly MediaReference[]): RawBuilder<unknown> {
  const path = sql`${MEDIA_PREFIX} || t.name`;
  return sql.join(
    refs.map(
      ({ table, column }) =>
        sql`NOT EXISTS (SELECT 1 FROM ${sql.table(table)} r WHERE ${sql.ref(`r.${column}`)} = ${path})`,
    ),
    sql` AND `,
  );
}

/** Deletes images older than the grace period that no reference column names. */
export function mediaOrphanTask(refs: readonly MediaReference[] = MEDIA_REFERENCES): PruneTask {
  const where = unreferenced(refs);
  return {
    name: 'media.orphans',
    run: (db, now, limit) =>
      batched(
        'media',
        (picked) => sql`DELETE FROM media WHERE ctid IN (${picked})`,
        sql`t.created_at < ${new Date(now.getTime() - MEDIA_ORPHAN_GRACE_MS)} AND ${where}`,
      )(db, limit),
  };
}
