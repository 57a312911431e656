import type { Kysely } from 'kysely';

/**
 * Issue 19. The addresses an email-change link stands for: one row per link token (the confirm
 * link mailed to the new address, the revert link mailed to the old one), keyed by the token's
 * hash in `one_time_tokens`, which keeps the expiry and the single use. A row goes with its token
 * (ON DELETE CASCADE): the retention pruner and account erasure need no task of their own.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('email_change_tokens')
    .addColumn('token_hash', 'text', (c) =>
      c.primaryKey().references('one_time_tokens.token_hash').onDelete('cascade'),
    )
    .addColumn('old_email', 'text', (c) => c.notNull())
    .addColumn('old_email_key', 'text', (c) => c.notNull())
    .addColumn('new_email', 'text', (c) => c.notNull())
    .addColumn('new_email_key', 'text', (c) => c.notNull())
    // The session that asked for the change: the only one a confirmation leaves signed in.
    .addColumn('session_id', 'uuid')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('email_change_tokens').execute();
}
