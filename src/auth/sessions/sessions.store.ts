/** Sessions and their refresh tokens (stored as SHA-256 only). */
import { sql } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { FirstFactor, Session } from '../../platform/db/schema.js';

export interface NewSession {
  readonly id: string;
  readonly userId: string;
  readonly now: Date;
  readonly authTime: Date;
  readonly idleTimeoutSeconds: number;
  readonly expiresAt: Date;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly mfa: boolean;
  readonly firstFactor: FirstFactor;
}

/**
 * The session and its first refresh token in one statement (a data-modifying CTE), atomic like
 * the transaction it replaces: one round trip per login instead of four (BEGIN, two INSERTs,
 * COMMIT), which is CPU on the server's thread and, embedded, a PGlite query each (issue 20).
 */
export async function insertSession(db: Db, s: NewSession, refreshHash: string): Promise<void> {
  await db
    .with('s', (w) =>
      w
        .insertInto('sessions')
        .values({
          id: s.id,
          user_id: s.userId,
          created_at: s.now,
          last_used_at: s.now,
          auth_time: s.authTime,
          idle_timeout_seconds: s.idleTimeoutSeconds,
          expires_at: s.expiresAt,
          ip: s.ip,
          user_agent: s.userAgent,
          mfa: s.mfa,
          first_factor: s.firstFactor,
        })
        .returning('id'),
    )
    .insertInto('refresh_tokens')
    .columns(['token_hash', 'session_id', 'created_at'])
    .expression((eb) =>
      eb
        .selectFrom('s')
        .select([
          sql<string>`cast(${refreshHash} as text)`.as('token_hash'),
          's.id',
          sql<Date>`cast(${s.now} as timestamptz)`.as('created_at'),
        ]),
    )
    .execute();
}

/** A refresh token with its session and account, as read (locked) during rotation. */
export interface RefreshRecord {
  token_hash: string;
  rotated_at: Date | null;
  session_id: string;
  user_id: string;
  created_at: Date;
  auth_time: Date;
  last_used_at: Date;
  idle_timeout_seconds: number;
  expires_at: Date;
  revoked_at: Date | null;
  roles: string[];
  locked: boolean;
  mfa: boolean;
  first_factor: FirstFactor;
}

type Executor = Db;

/** A refresh token with its session and account. */
function refreshRecordQuery(db: Executor, tokenHash: string) {
  return db
    .selectFrom('refresh_tokens as t')
    .innerJoin('sessions as s', 's.id', 't.session_id')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select([
      't.token_hash',
      't.rotated_at',
      's.id as session_id',
      's.user_id',
      's.created_at',
      's.auth_time',
      's.last_used_at',
      's.idle_timeout_seconds',
      's.expires_at',
      's.revoked_at',
      's.mfa',
      's.first_factor',
      'u.roles',
      'u.locked',
    ])
    .where('t.token_hash', '=', tokenHash);
}

/** Reads a refresh token and locks it (FOR UPDATE) so concurrent rotations serialize. */
export async function findRefreshForUpdate(
  trx: Executor,
  tokenHash: string,
): Promise<RefreshRecord | undefined> {
  return refreshRecordQuery(trx, tokenHash).forUpdate('t').executeTakeFirst();
}

/** Reads a refresh token with its session and account, without locking (read-only pages). */
export async function findRefreshRecord(
  db: Db,
  tokenHash: string,
): Promise<RefreshRecord | undefined> {
  return refreshRecordQuery(db, tokenHash).executeTakeFirst();
}

/** Reads a refresh token's session without locking (CSRF check before any change). */
export async function findRefreshSession(
  db: Db,
  tokenHash: string,
): Promise<{ session_id: string; user_id: string } | undefined> {
  return db
    .selectFrom('refresh_tokens as t')
    .innerJoin('sessions as s', 's.id', 't.session_id')
    .select(['s.id as session_id', 's.user_id'])
    .where('t.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

export async function rotateRefresh(
  trx: Executor,
  oldHash: string,
  newHash: string,
  sessionId: string,
  now: Date,
): Promise<void> {
  await trx
    .updateTable('refresh_tokens')
    .set({ rotated_at: now })
    .where('token_hash', '=', oldHash)
    .execute();
  await trx
    .insertInto('refresh_tokens')
    .values({ token_hash: newHash, session_id: sessionId, created_at: now })
    .execute();
  await trx
    .updateTable('sessions')
    .set({ last_used_at: now })
    .where('id', '=', sessionId)
    .execute();
}

/** Revokes one session if live; returns its user's id when it was, undefined otherwise. */
export async function revokeSession(
  db: Db,
  sessionId: string,
  now: Date,
): Promise<string | undefined> {
  const row = await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .returning('user_id')
    .executeTakeFirst();
  return row?.user_id;
}

/** Revokes every live session of a user (optionally but one); returns their ids. */
export async function revokeUserSessions(
  db: Db,
  userId: string,
  now: Date,
  exceptSessionId?: string,
): Promise<string[]> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (exceptSessionId) query = query.where('id', '!=', exceptSessionId);
  const rows = await query.returning('id').execute();
  return rows.map((r) => r.id);
}

/** A user's live sessions, newest first, keyset-paged by id (UUIDv7 sorts by time). */
export async function listActiveSessions(
  db: Db,
  userId: string,
  now: Date,
  limit: number,
  before?: string,
): Promise<Session[]> {
  let query = db
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now);
  if (before) query = query.where('id', '<', before);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

export async function findOwnLiveSession(
  db: Db,
  userId: string,
  sessionId: string,
): Promise<Session | undefined> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}
