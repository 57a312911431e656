/**
 * Security events: a row for the admin API, a `warn` log line with a stable `event` name, and
 * the listeners (metrics, the alert webhook). Recording never fails the request that raised it.
 */
import type { FastifyBaseLogger } from 'fastify';
import { uuidv7 } from 'uuidv7';
import type { Db } from './db/database.js';

export type SecurityEventType =
  | 'refresh_token_reused'
  | 'account_throttled'
  | 'ip_throttled'
  | 'unauthorized_burst'
  | 'password_changed'
  | 'password_reset'
  | 'sessions_revoked'
  | 'admin_action'
  | 'alert_sent'
  | 'identity_linked'
  | 'identity_unlinked';

export interface SecurityEvent {
  readonly type: SecurityEventType;
  readonly userId?: string | null;
  readonly ip?: string | null;
  readonly detail?: Record<string, unknown>;
}

export type SecurityEventListener = (
  event: SecurityEvent & { readonly id: string; readonly at: Date },
) => void;

export class SecurityEvents {
  private readonly listeners: SecurityEventListener[] = [];

  constructor(private readonly db: Db) {}

  /** Adds a listener; listeners must not throw or block (they run after the row is written). */
  onEvent(listener: SecurityEventListener): void {
    this.listeners.push(listener);
  }

  async record(log: FastifyBaseLogger, event: SecurityEvent): Promise<void> {
    const id = uuidv7();
    const at = new Date();
    log.warn({ event: event.type, userId: event.userId ?? undefined, ...event.detail }, event.type);
    try {
      await this.db
        .insertInto('security_events')
        .values({
          id,
          type: event.type,
          user_id: event.userId ?? null,
          ip: event.ip ?? null,
          detail: JSON.stringify(event.detail ?? {}),
          created_at: at,
        })
        .execute();
    } catch (err) {
      log.error({ err, event: event.type }, 'security event could not be stored');
    }
    for (const listener of this.listeners) {
      try {
        listener({ ...event, id, at });
      } catch (err) {
        log.error({ err, event: event.type }, 'security event listener failed');
      }
    }
  }

  /**
   * Raises `admin_action` for an admin (or moderator) change whose audit entry has committed:
   * who acted, from where, what was done and to what.
   */
  adminAction(
    log: FastifyBaseLogger,
    by: { readonly userId: string; readonly ip: string | null },
    action: string,
    targetId: string,
  ): Promise<void> {
    return this.record(log, {
      type: 'admin_action',
      userId: by.userId,
      ip: by.ip,
      detail: { action, targetId },
    });
  }
}
