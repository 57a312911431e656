import { type Kysely, sql } from 'kysely';

/**
 * Issue 16. Social login identities: one row per (issuer, subject), the provider's stable key
 * for a person, never the email. `email` is the address the provider last asserted (shown to the
 * owner, never used to find the row). A user may have several identities, at most one per issuer
 * in practice (the link rules refuse a second subject of the same issuer).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('identities')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_login_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('identities_issuer_subject_key', ['issuer', 'subject'])
    .execute();
  await db.schema
    .createIndex('identities_user_id_idx')
    .on('identities')
    .column('user_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('identities').execute();
}
