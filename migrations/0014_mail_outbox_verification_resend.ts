import { type Kysely, sql } from 'kysely';

/**
 * Issue 19. `POST /auth/verify-email/resend` writes one `mail_outbox` row of its own kind,
 * `verification_resend`, for every address (known, unknown or verified alike); the worker mails
 * a fresh verification link only to an existing, unverified, live account.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE mail_outbox DROP CONSTRAINT IF EXISTS mail_outbox_kind_check`.execute(db);
  await sql`ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
            CHECK (kind IN ('password_reset', 'registration', 'verification_resend'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DELETE FROM mail_outbox WHERE kind = 'verification_resend'`.execute(db);
  await sql`ALTER TABLE mail_outbox DROP CONSTRAINT IF EXISTS mail_outbox_kind_check`.execute(db);
  await sql`ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
            CHECK (kind IN ('password_reset', 'registration'))`.execute(db);
}
