import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * What proved the first factor of a session: `pwd` (a password), `hwk` (a device-bound passkey)
 * or `swk` (a synced passkey). An access token's `amr` is built from it: a passkey session says
 * `["hwk", "mfa"]` or `["swk", "mfa"]`, not `["pwd", "otp"]` as before. Existing sessions were
 * all started as `pwd` or counted as MFA, so the default keeps their tokens as they were.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('sessions')
    .addColumn('first_factor', 'text', (c) =>
      c.notNull().defaultTo('pwd').check(sql`first_factor in ('pwd', 'hwk', 'swk')`),
    )
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('first_factor').execute();
}
