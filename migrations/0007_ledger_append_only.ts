import { type Kysely, sql } from 'kysely';

/**
 * The wallet ledger is append-only, as the audit log is (0004): a correction is a new, balancing
 * transaction, never an edit. UPDATE, DELETE and TRUNCATE of `ledger_entries` raise, whoever runs
 * them; in production the app's role also lacks those privileges (docs/database-roles.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'ledger_entries is append-only';
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TRIGGER ledger_entries_append_only ON ledger_entries`.execute(db);
  await sql`DROP FUNCTION ledger_entries_append_only()`.execute(db);
}
