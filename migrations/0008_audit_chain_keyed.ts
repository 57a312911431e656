import { type Kysely, sql } from 'kysely';

/**
 * The audit chain is keyed from here on (issue 14): each entry says how its hash was computed.
 * Entries already stored were hashed with plain SHA-256 and keep `sha256`; the column then loses
 * its default, so every new entry must name its algorithm (the app writes `hmac-sha256`). Adding
 * a column with a constant default rewrites no row, so the append-only trigger is not involved.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('audit_log')
    .addColumn('alg', 'text', (c) => c.notNull().defaultTo('sha256'))
    .execute();
  await db.schema
    .alterTable('audit_log')
    .alterColumn('alg', (c) => c.dropDefault())
    .execute();
  await sql`ALTER TABLE audit_log ADD CONSTRAINT audit_log_alg
            CHECK (alg IN ('sha256', 'hmac-sha256'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_log').dropColumn('alg').execute();
}
