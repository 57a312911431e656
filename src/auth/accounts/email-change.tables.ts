/** Row type of the email-change links (migrations/0012); part of the `Database` interface. */
declare module '../../platform/db/schema.js' {
  interface Database {
    email_change_tokens: EmailChangeTokensTable;
  }
}

export interface EmailChangeTokensTable {
  /** The `one_time_tokens` row this link's expiry and single use live in. */
  token_hash: string;
  /** The address the account had when the change was asked for (the revert target). */
  old_email: string;
  old_email_key: string;
  /** The address the change moves to (as normalized at register). */
  new_email: string;
  new_email_key: string;
  /** Confirm links: the requesting session, kept when the others end. */
  session_id: string | null;
}
