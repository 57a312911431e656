import { type Kysely, sql } from 'kysely';

/**
 * Issue 14. `users.password_login_blocked_at`: set by "this was not me", cleared by a password
 * reset; while set, password login answers like a wrong password (item 13).
 *
 * `mail_outbox`: the forgot-password and registration requests write one row here, the same for
 * known and unknown addresses, and answer; a worker claims rows (`FOR UPDATE SKIP LOCKED`, so
 * instances never share one), does the look-up, the link token and the mail, then deletes the row
 * (item 4: the request's work no longer depends on whether the address exists).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('password_login_blocked_at', 'timestamptz')
    .execute();
  await db.schema
    .createTable('mail_outbox')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind IN ('password_reset', 'registration')`),
    )
    .addColumn('email_key', 'text', (c) => c.notNull())
    .addColumn('ref', 'uuid')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('mail_outbox').execute();
  await db.schema.alterTable('users').dropColumn('password_login_blocked_at').execute();
}
