/** Test-only faults in the audit log, to prove a change and its entry commit together. */
import { sql } from 'kysely';
import type { Config } from '../../src/config.js';
import type { AuditChain } from '../../src/platform/audit/audit.store.js';
import { deriveKey } from '../../src/platform/crypto.js';
import type { Db } from '../../src/platform/db/database.js';
import type { SharedState } from '../../src/platform/state/shared-state.js';

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

/**
 * The audit chain as the test's app writes it (same key, same shared state), for tests that
 * append entries directly. Needs KEY_ENCRYPTION_KEY in the config (TEST_ENV sets it).
 */
export function auditChainOf(ctx: { config: Config; state: SharedState }): AuditChain {
  const master = ctx.config.keyEncryptionKey;
  if (!master) throw new Error('the test config has no KEY_ENCRYPTION_KEY');
  const quiet = { error() {}, info() {} };
  return { key: deriveKey(master, 'audit-chain'), state: ctx.state, log: quiet };
}
