/**
 * Least-privilege PostgreSQL roles (docs/database-roles.md): migrations run as the owner role,
 * the server as an app role that owns nothing, may read and write rows, and never change the
 * audit log or the wallet ledger. `deploy/postgres/grants.sql` holds the same statements for
 * psql (a test keeps the two equal).
 */
import { sql } from 'kysely';
import type { Db } from './database.js';

/** The append-only tables: the app role may read and append to them, never change or remove. */
export const APPEND_ONLY_TABLES = ['audit_log', 'ledger_entries'] as const;

/** A role name as a quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The statements that grant `role` what the server needs on the tables the migrations made. */
export function appRoleGrants(role: string): string[] {
  const r = /^[a-z_][a-z0-9_]*$/.test(role) ? role : quoteIdent(role);
  return [
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r};`,
    ...APPEND_ONLY_TABLES.map((t) => `REVOKE UPDATE, DELETE, TRUNCATE ON ${t} FROM ${r};`),
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${r};`,
  ];
}

/** The role name in a postgres:// URL (percent-decoded), or undefined when it has none. */
export function roleOfUrl(url: string): string | undefined {
  const user = new URL(url).username;
  return user ? decodeURIComponent(user) : undefined;
}

/** Grants the app role its privileges, as the owner, in one transaction. */
export async function grantAppRole(ownerDb: Db, role: string): Promise<void> {
  await ownerDb.transaction().execute(async (trx) => {
    for (const statement of appRoleGrants(role)) await sql.raw(statement).execute(trx);
  });
}
