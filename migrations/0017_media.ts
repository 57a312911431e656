import { type Kysely, sql } from 'kysely';

/**
 * Issue 17, shared media. Re-encoded images (avatars, product images) live in the database, so
 * every instance serves the same object: one row per image under its random public name, its
 * content type (an image type, by constraint), a strong ETag (SHA-256 of the bytes, computed once when stored) and the bytes.
 * The bytes are already-compressed WebP: stored out of line without TOAST's compression attempt.
 *
 * The partial indexes on the two columns that point at images let the retention sweep of
 * unreferenced rows probe an index per candidate instead of scanning the users table.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('media')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('etag', 'text', (c) => c.notNull())
    .addColumn('bytes', 'bytea', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('media_name_check', sql`name ~ '^[A-Za-z0-9_-]{43}\\.webp$'`)
    // The route serves the stored type: never one a browser would run as a document, even for a
    // row written by an injected statement (the app role cannot alter this constraint).
    .addCheckConstraint(
      'media_content_type_check',
      sql`content_type IN ('image/webp', 'image/png', 'image/jpeg', 'image/avif')`,
    )
    .execute();
  await sql`ALTER TABLE media ALTER COLUMN bytes SET STORAGE EXTERNAL`.execute(db);
  await db.schema
    .createIndex('users_avatar_url_idx')
    .on('users')
    .column('avatar_url')
    .where(sql.ref('avatar_url'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('products_image_url_idx')
    .on('products')
    .column('image_url')
    .where(sql.ref('image_url'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('products_image_url_idx').execute();
  await db.schema.dropIndex('users_avatar_url_idx').execute();
  await db.schema.dropTable('media').execute();
}
