/**
 * Where re-encoded images live: the `media` table (migration 0017), one row per image under a
 * name of 256 random bits (`<random>.webp`), so every instance on the same database serves the
 * same object (issue 17; before, each instance kept its own `DATA_DIR/media/` and an image
 * uploaded through one was 404 on the others). The embedded default stores them the same way in
 * PGlite: one code path. The client's filename never reaches the store; a name is made once and
 * never reused, so the bytes behind one never change (the route serves them as immutable).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { randomToken } from '../crypto.js';
import type { Db } from '../db/database.js';
import './media.tables.js';

/** A media name as served under `/media/`: only names this store can have made. */
export const MEDIA_NAME = /^[A-Za-z0-9_-]{43}\.webp$/;
export const MEDIA_PREFIX = '/media/';
const WEBP = 'image/webp';

/** What a conditional request needs: no bytes. */
export interface MediaInfo {
  readonly contentType: string;
  /** A strong entity tag, quoted: the SHA-256 of the bytes. */
  readonly etag: string;
}

export interface MediaObject extends MediaInfo {
  readonly bytes: Buffer;
}

export interface MediaStore {
  /**
   * Stores WebP bytes under a new random name; returns the public path (`/media/<name>`). `trx`:
   * in the caller's transaction, so the image and the row that points at it commit together.
   */
  save(webp: Buffer, trx?: Db): Promise<string>;
  /** The type and ETag of a stored image, without its bytes; undefined when there is none. */
  info(name: string): Promise<MediaInfo | undefined>;
  /** A stored image, or undefined (unknown or malformed name). */
  read(name: string): Promise<MediaObject | undefined>;
  /** Removes an image by its public path; unknown paths are ignored. `trx` as for `save`. */
  remove(path: string | null, trx?: Db): Promise<void>;
}

/** `"<base64url SHA-256>"`: the same bytes give the same tag on every instance. */
export function mediaEtag(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('base64url')}"`;
}

/** The store name behind a public path, or undefined when the path is not one of ours. */
export function mediaNameOf(path: string | null): string | undefined {
  const name = path?.startsWith(MEDIA_PREFIX) ? path.slice(MEDIA_PREFIX.length) : '';
  return MEDIA_NAME.test(name) ? name : undefined;
}

/**
 * Bytes cross the driver as base64 text, in both directions: PGlite parses a bytea result one
 * byte at a time in JavaScript (40 ms for a 160 KB image, 10 ms as base64) and binds a Buffer
 * parameter 4× slower than a string; for pg, base64 is a third shorter on the wire than bytea's
 * hex text. One code path for both drivers.
 */
const toBytea = (bytes: Buffer) => sql<Buffer>`decode(${bytes.toString('base64')}, 'base64')`;
const BYTES_BASE64 = sql<string>`encode(bytes, 'base64')`.as('base64');

export function createMediaStore(db: Db): MediaStore {
  return {
    async save(webp, trx = db) {
      const name = `${randomToken()}.webp`;
      // A plain INSERT: a collision of 256 random bits would be a bug, and the primary key says so.
      await trx
        .insertInto('media')
        .values({ name, content_type: WEBP, etag: mediaEtag(webp), bytes: toBytea(webp) })
        .execute();
      return `${MEDIA_PREFIX}${name}`;
    },
    async info(name) {
      if (!MEDIA_NAME.test(name)) return undefined;
      const row = await db
        .selectFrom('media')
        .select(['content_type', 'etag'])
        .where('name', '=', name)
        .executeTakeFirst();
      return row && { contentType: row.content_type, etag: row.etag };
    },
    async read(name) {
      if (!MEDIA_NAME.test(name)) return undefined;
      const row = await db
        .selectFrom('media')
        .select(['content_type', 'etag', BYTES_BASE64])
        .where('name', '=', name)
        .executeTakeFirst();
      if (!row) return undefined;
      // encode() breaks lines every 76 characters; Node's base64 decoder skips them.
      return {
        contentType: row.content_type,
        etag: row.etag,
        bytes: Buffer.from(row.base64, 'base64'),
      };
    },
    async remove(path, trx = db) {
      const name = mediaNameOf(path);
      if (name) await trx.deleteFrom('media').where('name', '=', name).execute();
    },
  };
}

/**
 * Moves the images an older version left in `DATA_DIR/media/` into the table, one file at a time
 * (a file goes once its row is committed; one another instance already moved is skipped). Run
 * at start-up, so an upgraded instance serves its old uploads to every instance. Images nothing
 * points at are removed by the retention sweep an hour later, like any other orphan. Returns how
 * many files were moved.
 */
export async function importFileMedia(db: Db, dataDir: string): Promise<number> {
  const dir = join(dataDir, 'media');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let moved = 0;
  for (const name of names) {
    if (!MEDIA_NAME.test(name)) continue;
    const file = join(dir, name);
    const bytes = await readFile(file).catch(() => undefined);
    if (!bytes) continue;
    await db
      .insertInto('media')
      .values({ name, content_type: WEBP, etag: mediaEtag(bytes), bytes: toBytea(bytes) })
      .onConflict((c) => c.column('name').doNothing())
      .execute();
    await unlink(file).catch(() => {});
    moved++;
  }
  await rmdir(dir).catch(() => {});
  return moved;
}
