import type { Kysely } from 'kysely';

/**
 * Issue 19, administrator support tools. `users.password_reset_required_at`: set by
 * `POST /admin/users/:id/require-password-reset`; while set, a correct password login answers 403
 * `password_reset_required` (and mails a reset link); a completed reset clears it.
 *
 * Invitations need no table: their links are `one_time_tokens` rows with the purpose
 * `invitation` (the column is free text), stored as SHA-256 like every other link.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('password_reset_required_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('password_reset_required_at').execute();
}
