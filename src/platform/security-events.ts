/**
 * Security events: a row for the admin API and a `warn` log line with a stable `event` name.
 * Recording never fails the request that raised it.
 */
import type { FastifyBaseLogger } from 'fastify';
import { uuidv7 } from 'uuidv7';
import type { Db } from './db/database.js';

export type SecurityEventType =
  | 'refresh_token_reused'
  | 'login_failed_burst'
  | 'account_throttled'
  | 'ip_throttled'
  | 'unauthorized_burst'
  | 'password_changed'
  | 'password_reset'
  | 'sessions_revoked'
  | 'admin_action'
  | 'alert_sent';

export interface SecurityEventInput {
  readonly type: SecurityEventType;
  readonly userId?: string | null;
  readonly ip?: string | null;
  readonly detail?: Record<string, unknown>;
}

export async function recordSecurityEvent(
  db: Db,
  log: FastifyBaseLogger,
  event: SecurityEventInput,
): Promise<void> {
  log.warn({ event: event.type, userId: event.userId ?? undefined, ...event.detail }, event.type);
  try {
    await db
      .insertInto('security_events')
      .values({
        id: uuidv7(),
        type: event.type,
        user_id: event.userId ?? null,
        ip: event.ip ?? null,
        detail: JSON.stringify(event.detail ?? {}),
      })
      .execute();
  } catch (err) {
    log.error({ err, event: event.type }, 'security event could not be stored');
  }
}
