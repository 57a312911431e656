import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('totp_secret_sealed', 'text')
    .addColumn('totp_pending_sealed', 'text')
    .addColumn('totp_last_counter', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // Whether the session's login passed a second factor (the access tokens' `amr`).
  await db.schema
    .alterTable('sessions')
    .addColumn('mfa', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema
    .createTable('mfa_recovery_codes')
    .addColumn('code_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('mfa_recovery_codes_user')
    .on('mfa_recovery_codes')
    .column('user_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('mfa_recovery_codes').execute();
  await db.schema.alterTable('sessions').dropColumn('mfa').execute();
  await db.schema
    .alterTable('users')
    .dropColumn('totp_secret_sealed')
    .dropColumn('totp_pending_sealed')
    .dropColumn('totp_last_counter')
    .execute();
}
