/** Row types for every table; Kysely derives query types from this one interface. */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface UsersTable {
  id: string;
  /** As typed by the user (NFC, trimmed, domain lower-cased). */
  email: string;
  /** Lower-cased form used for uniqueness and look-up. */
  email_key: string;
  display_name: string;
  password_hash: string | null;
  roles: ColumnType<string[], string[] | undefined, string[]>;
  email_verified_at: Timestamp | null;
  locked: Generated<boolean>;
  mfa_enabled: Generated<boolean>;
  avatar_url: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  /** AES-256-GCM sealed base32 TOTP secret, once MFA is confirmed. */
  totp_secret_sealed: ColumnType<string | null, string | null | undefined, string | null>;
  /** A secret from setup waiting for its first code. */
  totp_pending_sealed: ColumnType<string | null, string | null | undefined, string | null>;
  /** The last accepted TOTP time step: a code is accepted once. */
  totp_last_counter: ColumnType<number, number | undefined, number>;
  /** Set by "this was not me": password login fails like a wrong password until a reset. */
  password_login_blocked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Set when the account is deleted: the row stays as a tombstone, its personal data erased. */
  deleted_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Set by an administrator: a correct password login answers 403 until a reset clears it. */
  password_reset_required_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface MfaRecoveryCodesTable {
  /** HMAC-SHA256 of the code under a key derived from the master key. */
  code_hash: string;
  user_id: string;
  used_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface OneTimeTokensTable {
  /** SHA-256 (hex) of the token mailed to the user; the token itself is never stored. */
  token_hash: string;
  user_id: string;
  purpose:
    | 'verify_email'
    | 'reset_password'
    | 'secure_account'
    | 'invitation'
    // Email change (issue 19): the link to the new address, and the old address's revert link.
    | 'confirm_email'
    | 'revert_email';
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  /** AES-256-GCM sealed PKCS#8 PEM: base64(iv | tag | ciphertext). */
  private_key_sealed: string;
  created_at: CreatedAt;
  /** The key signs from this moment; it is published in JWKS before. */
  activates_at: Timestamp;
  /** Set when a newer key takes over; the key keeps verifying until `expires_at`. */
  retired_at: Timestamp | null;
  expires_at: Timestamp | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: CreatedAt;
  last_used_at: Timestamp;
  auth_time: Timestamp;
  idle_timeout_seconds: number;
  expires_at: Timestamp;
  ip: string | null;
  user_agent: string | null;
  revoked_at: Timestamp | null;
  mfa: ColumnType<boolean, boolean | undefined, boolean>;
  /** What proved the first factor (migrations 0018, 0019): a password, a passkey or a provider. */
  first_factor: ColumnType<FirstFactor, FirstFactor | undefined, FirstFactor>;
}

/**
 * `pwd`: a password; `hwk`: a device-bound passkey; `swk`: a synced passkey (RFC 8176 names);
 * `fed`: social login, another identity provider vouched for the user (RFC 8176 registers no
 * value for that; `fed` is the one Microsoft Entra ID uses).
 */
export type FirstFactor = 'pwd' | 'hwk' | 'swk' | 'fed';

/** What a login that may still take the MFA step proved first: a password or a provider. */
export type ChallengedFirstFactor = Extract<FirstFactor, 'pwd' | 'fed'>;

export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  created_at: CreatedAt;
  /** Set when the token is exchanged for its successor. */
  rotated_at: Timestamp | null;
}

export interface SecurityEventsTable {
  id: string;
  type: string;
  user_id: string | null;
  ip: string | null;
  detail: ColumnType<Record<string, unknown>, string, string>;
  created_at: CreatedAt;
}

export interface AuditLogTable {
  seq: Generated<string>;
  id: string;
  at: Timestamp;
  /** The account that acted (null: the system or an anonymous request). */
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  detail: ColumnType<Record<string, unknown>, string, never>;
  /** `hash` of the previous entry (64 zeros for the first). */
  prev_hash: string;
  /** Link of `prev_hash` and this entry's canonical content, computed by `alg`. */
  hash: string;
  /** `hmac-sha256` (keyed, every new entry) or `sha256` (entries from before migration 0008). */
  alg: 'sha256' | 'hmac-sha256';
}

/** The lifecycle-webhook outbox (migrations/0011, issue 19): one row per event. */
export interface LifecycleEventsTable {
  /** uuidv7; the event id the receiver sees, the same on every retry. */
  id: string;
  type: string;
  user_id: string;
  /** Safe fields only (never password hashes, secrets or tokens): the callers choose them. */
  data: ColumnType<Record<string, unknown>, string, never>;
  at: ColumnType<Date, Date, never>;
  attempts: Generated<number>;
  /** Due time; a claim moves it to the end of the lease, a failure to the next retry. */
  next_attempt_at: Timestamp;
  delivered_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The receiver's last HTTP status (none when it could not be reached). */
  last_status: ColumnType<number | null, number | null | undefined, number | null>;
  /** The last network error code (`ECONNREFUSED`, `TimeoutError`...), never a body or URL. */
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
}

/**
 * The platform's tables. Each capability adds its own to this interface where it declares them
 * (`declare module` in its `*.tables.ts`), so the platform never imports a capability.
 */
export interface Database {
  users: UsersTable;
  one_time_tokens: OneTimeTokensTable;
  signing_keys: SigningKeysTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  security_events: SecurityEventsTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  audit_log: AuditLogTable;
  lifecycle_events: LifecycleEventsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type Session = Selectable<SessionsTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
