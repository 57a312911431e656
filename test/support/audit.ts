/** Test-only faults in the audit log, to prove a change and its entry commit together. */
import { sql } from 'kysely';
import type { Db } from '../../src/platform/db/database.js';

/**
 * While `run` runs, inserting an audit entry whose action is one of `actions` fails inside the
 * database (a trigger), as a full disk or a broken connection would at that moment.
 */
export async function withFailingAudit(
  db: Db,
  actions: readonly string[],
  run: () => Promise<void>,
): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.action = ANY(TG_ARGV) THEN RAISE EXCEPTION 'audit entry refused by the test'; END IF;
      RETURN NEW;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW
    EXECUTE FUNCTION test_refuse_audit(${sql.join(actions.map((a) => sql.lit(a)))})`.execute(db);
  try {
    await run();
  } finally {
    await sql`DROP TRIGGER test_refuse_audit ON audit_log`.execute(db);
  }
}
