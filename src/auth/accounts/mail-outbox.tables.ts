/**
 * Row type of the account mail outbox (migrations/0009; `verification_resend` from 0014); part of
 * the `Database` interface.
 */
import type { ColumnType, Generated } from 'kysely';

declare module '../../platform/db/schema.js' {
  interface Database {
    mail_outbox: MailOutboxTable;
  }
}

export type OutboxKind = 'password_reset' | 'registration' | 'verification_resend';

export interface MailOutboxTable {
  /** uuidv7: rows are taken oldest first. */
  id: string;
  kind: OutboxKind;
  /** The normalized address the request named, known or not. */
  email_key: string;
  /** Registration: the id the request tried to insert (ours when it is the account's id). */
  ref: string | null;
  created_at: ColumnType<Date, Date, never>;
  /** A worker holds the row until then; a crashed worker's rows come back after it. */
  claimed_until: Date | null;
  attempts: Generated<number>;
}
