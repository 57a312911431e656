import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * A session started by social login (issue 16) proved no password here, yet its tokens said
 * `amr: ["pwd"]`. Its first factor is now `fed` (another identity provider vouched for the
 * user), so its tokens say `["fed"]`, or `["fed", "mfa"]` once a second factor was passed.
 * Sessions started before this migration keep what they had.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions drop constraint sessions_first_factor_check`.execute(db);
  await sql`alter table sessions add constraint sessions_first_factor_check
    check (first_factor in ('pwd', 'hwk', 'swk', 'fed'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // The earlier schema cannot say `fed`: those sessions end rather than claim a password.
  await sql`delete from sessions where first_factor = 'fed'`.execute(db);
  await sql`alter table sessions drop constraint sessions_first_factor_check`.execute(db);
  await sql`alter table sessions add constraint sessions_first_factor_check
    check (first_factor in ('pwd', 'hwk', 'swk'))`.execute(db);
}
