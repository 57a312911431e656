/**
 * Sessions: one per login, holding a chain of refresh tokens. Each refresh rotates the token in
 * one transaction (the row is locked, so concurrent refreshes serialize). A token presented again
 * within the grace window gets the same successor (two tabs refreshing at once); after it, the
 * reuse means theft: the whole session is revoked.
 */
import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { uuidv7 } from 'uuidv7';
import type { Role } from '../../access/policy.js';
import type { Config } from '../../config.js';
import type { AuditChain } from '../../platform/audit/audit.store.js';
import type { Clock } from '../../platform/clock.js';
import {
  hmacBase64url,
  randomToken,
  safeEqual,
  seal,
  sha256Hex,
  unseal,
} from '../../platform/crypto.js';
import type { Db } from '../../platform/db/database.js';
import type { FirstFactor, Session } from '../../platform/db/schema.js';
import { platformError } from '../../platform/errors.js';
import { emitLifecycle } from '../../platform/lifecycle/lifecycle.js';
import type { SecurityEvents } from '../../platform/security-events.js';
import type { SharedState } from '../../platform/state/shared-state.js';
import type { AccessTokens } from '../tokens/access-tokens.js';
import type { Revocations } from './revocations.js';
import { sessionError } from './sessions.errors.js';
import {
  findRefreshForUpdate,
  findRefreshRecord,
  findRefreshSession,
  insertSession,
  listActiveSessions,
  type RefreshRecord,
  revokeSession,
  revokeUserSessions,
  rotateRefresh,
} from './sessions.store.js';

export interface SessionDeps {
  readonly db: Db;
  readonly state: SharedState;
  readonly clock: Clock;
  readonly config: Config;
  readonly tokens: AccessTokens;
  readonly revocations: Revocations;
  /** Key for CSRF tokens (derived from the master key, so every instance agrees). */
  readonly csrfKey: Buffer;
  readonly events: SecurityEvents;
  readonly audit: AuditChain;
}

export interface IssuedSession {
  readonly sessionId: string;
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly csrfToken: string;
  readonly refreshToken: string;
  /** Remaining absolute lifetime, for the refresh cookie's Max-Age. */
  readonly cookieMaxAge: number;
}

export interface ClientMeta {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

const USER_AGENT_MAX = 256;

/** Every account holds `user`; stored roles are the extra ones. */
export function effectiveRoles(stored: readonly string[]): Role[] {
  const extra = stored.filter((r): r is Role => r === 'moderator' || r === 'admin');
  return ['user', ...extra];
}

/** The CSRF token of a session: bound to it, so one stolen for another session is useless. */
export function csrfTokenFor(csrfKey: Buffer, sessionId: string): string {
  return hmacBase64url(csrfKey, `csrf:${sessionId}`);
}

function graceKey(refreshToken: string): Buffer {
  return createHash('sha256').update(`bastion:refresh-grace:${refreshToken}`).digest();
}

function lifetimes(config: Config, roles: readonly Role[]) {
  const s = config.sessions;
  return roles.includes('admin')
    ? { idle: s.adminIdleSeconds, absolute: s.adminAbsoluteSeconds }
    : { idle: s.idleSeconds, absolute: s.absoluteSeconds };
}

/** Creates a session after a successful login and issues its first tokens. */
export async function startSession(
  deps: SessionDeps,
  user: { readonly id: string; readonly roles: readonly string[] },
  meta: ClientMeta,
  /** The login passed a second factor (a passkey is one by itself). */
  mfa = false,
  firstFactor: FirstFactor = 'pwd',
): Promise<IssuedSession> {
  const now = deps.clock.now();
  const roles = effectiveRoles(user.roles);
  const { idle, absolute } = lifetimes(deps.config, roles);
  const sessionId = uuidv7();
  const refreshToken = randomToken();
  await insertSession(
    deps.db,
    {
      id: sessionId,
      userId: user.id,
      now: new Date(now),
      authTime: new Date(now),
      idleTimeoutSeconds: idle,
      expiresAt: new Date(now + absolute * 1000),
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
      mfa,
      firstFactor,
    },
    sha256Hex(refreshToken),
  );
  const accessToken = await deps.tokens.issue({
    userId: user.id,
    sessionId,
    roles,
    authTime: Math.floor(now / 1000),
    mfa,
    firstFactor,
  });
  return {
    sessionId,
    accessToken,
    expiresIn: deps.tokens.ttlSeconds,
    csrfToken: csrfTokenFor(deps.csrfKey, sessionId),
    refreshToken,
    cookieMaxAge: absolute,
  };
}

/** Checks the CSRF header against the session the refresh cookie belongs to. */
export async function sessionOfRefreshCookie(
  deps: SessionDeps,
  refreshToken: string | undefined,
  csrfHeader: string | undefined,
): Promise<{ sessionId: string; userId: string }> {
  if (!refreshToken) throw platformError('unauthorized');
  if (!csrfHeader) throw sessionError('csrf_failed');
  const found = await findRefreshSession(deps.db, sha256Hex(refreshToken));
  if (!found) throw platformError('unauthorized');
  if (!safeEqual(csrfHeader, csrfTokenFor(deps.csrfKey, found.session_id))) {
    throw sessionError('csrf_failed');
  }
  return { sessionId: found.session_id, userId: found.user_id };
}

type RotationOutcome =
  | { kind: 'rotated' | 'grace'; successor: string; record: RefreshRecord }
  | { kind: 'reused'; record: RefreshRecord };

/**
 * When a session ends (idle and absolute), by the bounds of the roles its user holds now: a user
 * made admin mid-session gets the admin bounds at once, not at the next login.
 */
function sessionBounds(config: Config, record: RefreshRecord) {
  const bounds = lifetimes(config, effectiveRoles(record.roles));
  const idleMs = Math.min(record.idle_timeout_seconds, bounds.idle) * 1000;
  return {
    idleEndsAt: record.last_used_at.getTime() + idleMs,
    endsAt: Math.min(
      record.expires_at.getTime(),
      record.created_at.getTime() + bounds.absolute * 1000,
    ),
  };
}

function isLive(config: Config, record: RefreshRecord, now: number): boolean {
  const { idleEndsAt, endsAt } = sessionBounds(config, record);
  return record.revoked_at === null && !record.locked && endsAt > now && idleEndsAt > now;
}

/**
 * The live session a refresh cookie belongs to, read without rotating the token or asking for
 * the CSRF header: only for rendering GET pages, never to authorize a change. A token already
 * rotated, a revoked, expired or idle session, or a locked account is no session (null).
 */
export async function liveSessionOfRefreshCookie(
  deps: Pick<SessionDeps, 'db' | 'clock' | 'config'>,
  refreshToken: string | undefined,
): Promise<{ sessionId: string; userId: string } | null> {
  if (!refreshToken || refreshToken.length > 256) return null;
  const record = await findRefreshRecord(deps.db, sha256Hex(refreshToken));
  if (!record || record.rotated_at !== null) return null;
  if (!isLive(deps.config, record, deps.clock.now())) return null;
  return { sessionId: record.session_id, userId: record.user_id };
}

/**
 * A page of a user's live sessions, newest first (`limit + 1` rows are read, so `more` says
 * whether another page follows); idle ones are left out.
 */
export async function listLiveSessions(
  deps: Pick<SessionDeps, 'db' | 'clock'>,
  userId: string,
  limit: number,
  before?: string,
): Promise<{ items: Session[]; more: boolean }> {
  const now = deps.clock.now();
  const rows = await listActiveSessions(deps.db, userId, new Date(now), limit + 1, before);
  const live = rows.filter((s) => s.last_used_at.getTime() + s.idle_timeout_seconds * 1000 > now);
  return { items: live.slice(0, limit), more: rows.length > limit };
}

/** Exchanges a refresh token for a new one and a new access token. */
export async function refreshSession(
  deps: SessionDeps,
  log: FastifyBaseLogger,
  refreshToken: string | undefined,
  csrfHeader: string | undefined,
  ip: string | null,
): Promise<IssuedSession> {
  await sessionOfRefreshCookie(deps, refreshToken, csrfHeader);
  const token = refreshToken as string;
  const hash = sha256Hex(token);
  const graceMs = deps.config.sessions.reuseGraceSeconds * 1000;

  const outcome = await deps.db.transaction().execute(async (trx): Promise<RotationOutcome> => {
    const record = await findRefreshForUpdate(trx, hash);
    const now = deps.clock.now();
    if (!record || !isLive(deps.config, record, now)) throw platformError('unauthorized');
    if (record.rotated_at) {
      if (now - record.rotated_at.getTime() <= graceMs) {
        const sealed = await deps.state.get(`rt-grace:${hash}`);
        if (sealed) {
          return { kind: 'grace', successor: unseal(graceKey(token), sealed), record };
        }
      }
      return { kind: 'reused', record };
    }
    const successor = randomToken();
    // Written before commit, so a concurrent refresh that waited on the row lock finds it.
    await deps.state.set(`rt-grace:${hash}`, seal(graceKey(token), successor), graceMs);
    await rotateRefresh(trx, hash, sha256Hex(successor), record.session_id, new Date(now));
    return { kind: 'rotated', successor, record };
  });

  const { record } = outcome;
  if (outcome.kind === 'reused') {
    await endSession(deps, record.session_id);
    await deps.events.record(log, {
      type: 'refresh_token_reused',
      userId: record.user_id,
      ip,
      detail: { sessionId: record.session_id },
    });
    throw sessionError('refresh_token_reused');
  }

  const roles = effectiveRoles(record.roles);
  const accessToken = await deps.tokens.issue({
    userId: record.user_id,
    sessionId: record.session_id,
    roles,
    authTime: Math.floor(record.auth_time.getTime() / 1000),
    mfa: record.mfa,
    firstFactor: record.first_factor,
  });
  return {
    sessionId: record.session_id,
    accessToken,
    expiresIn: deps.tokens.ttlSeconds,
    csrfToken: csrfTokenFor(deps.csrfKey, record.session_id),
    refreshToken: outcome.successor,
    cookieMaxAge: Math.max(
      0,
      Math.floor((sessionBounds(deps.config, record).endsAt - deps.clock.now()) / 1000),
    ),
  };
}

/** Runs a revocation in the database, then tells every instance. */
async function revokeSessionsNow(
  deps: SessionDeps,
  revoke: () => Promise<string[]>,
): Promise<string[]> {
  const ids = await revoke();
  await deps.revocations.announce(ids);
  return ids;
}

/** Ends one session everywhere; a `session.revoked` lifecycle event commits with it. */
export async function endSession(deps: SessionDeps, sessionId: string): Promise<void> {
  await revokeSessionsNow(deps, () =>
    deps.db.transaction().execute(async (trx) => {
      const userId = await revokeSession(trx, sessionId, new Date(deps.clock.now()));
      if (!userId) return [];
      const data = { sessionIds: [sessionId] };
      await emitLifecycle(trx, { type: 'session.revoked', userId, data });
      return [sessionId];
    }),
  );
}

/**
 * Ends every session of a user (optionally but the caller's) everywhere; returns their ids. One
 * `session.revoked` lifecycle event lists them, when there were any.
 */
export async function endUserSessions(
  deps: SessionDeps,
  userId: string,
  exceptSessionId?: string,
): Promise<string[]> {
  return revokeSessionsNow(deps, () =>
    deps.db.transaction().execute(async (trx) => {
      const now = new Date(deps.clock.now());
      const ids = await revokeUserSessions(trx, userId, now, exceptSessionId);
      const data = { sessionIds: ids };
      if (ids.length > 0) await emitLifecycle(trx, { type: 'session.revoked', userId, data });
      return ids;
    }),
  );
}
