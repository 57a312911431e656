/** Row type of passkeys (migrations/0016); part of the `Database` interface. */
import type { ColumnType } from 'kysely';

declare module '../../platform/db/schema.js' {
  interface Database {
    passkeys: PasskeysTable;
  }
}

export interface PasskeysTable {
  /** uuidv7. */
  id: string;
  user_id: string;
  /** The WebAuthn credential id, base64url; unique across users. */
  credential_id: string;
  /** COSE public key, base64url. */
  public_key: string;
  /** The signature counter last reported (0 for authenticators that keep none). */
  counter: ColumnType<string | number, number, number>;
  /** Comma-separated authenticator transports (`internal,hybrid`), as the browser reported. */
  transports: string;
  /** `singleDevice` or `multiDevice` (a synced passkey). */
  device_type: string;
  backed_up: boolean;
  name: string;
  created_at: ColumnType<Date, Date, never>;
  last_used_at: ColumnType<Date | null, Date | null, Date | null>;
}
