/**
 * The sweep of images nothing points at (issue 17): an image older than the grace period that
 * no avatar or product names is deleted; one that is named, or fresh (an upload whose row has
 * not been pointed at it yet), stays. A product image counts as well as an avatar.
 */
import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { insertUser } from '../../../test/support/accounts.js';
import { openTestDatabase, type TestDatabase } from '../../../test/support/services.js';
import { randomToken } from '../crypto.js';
import { pruneOnce } from '../retention/pruner.js';
import { MEDIA_ORPHAN_GRACE_MS, mediaOrphanTask } from './media.retention.js';
import { mediaEtag } from './media.store.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

async function image(createdAt: Date): Promise<string> {
  const name = `${randomToken()}.webp`;
  const bytes = Buffer.from(name);
  await database.db
    .insertInto('media')
    .values({
      name,
      content_type: 'image/webp',
      etag: mediaEtag(bytes),
      bytes,
      created_at: createdAt,
    })
    .execute();
  return name;
}

it('deletes old images nothing names and keeps named or fresh ones', async () => {
  const db = database.db;
  const now = new Date();
  const old = new Date(now.getTime() - MEDIA_ORPHAN_GRACE_MS - 60_000);
  const orphans = [await image(old), await image(old)];
  const avatar = await image(old);
  const productImage = await image(old);
  const fresh = await image(new Date(now.getTime() - MEDIA_ORPHAN_GRACE_MS + 60_000));

  const owner = await insertUser(db, { email: `${uuidv7()}@example.test`, passwordHash: 'x' });
  await db
    .updateTable('users')
    .set({ avatar_url: `/media/${avatar}` })
    .where('id', '=', owner.id)
    .execute();
  await sql`INSERT INTO products (id, name, description, price_cents, stock, image_url, created_at, updated_at)
            VALUES (${uuidv7()}, 'p', '', 1, 1, ${`/media/${productImage}`}, now(), now())`.execute(
    db,
  );

  // Batches of one: the sweep goes on until a batch comes back short.
  const report = await pruneOnce(db, [mediaOrphanTask()], now, { batchSize: 1, batches: 5 });
  expect(report['media.orphans']).toEqual({ rows: 2, done: true });

  const left = await db.selectFrom('media').select('name').execute();
  expect(left.map((r) => r.name).sort()).toEqual([avatar, productImage, fresh].sort());
  expect(left.map((r) => r.name)).not.toContain(orphans[0]);
});
