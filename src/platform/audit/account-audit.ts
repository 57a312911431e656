/**
 * Audit entries for security-relevant changes a user makes to their own account (password, MFA,
 * sessions, verification). The change has already committed, so a failure to record is logged
 * loudly instead of failing a request whose effect cannot be undone.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { recordAudit } from './audit.store.js';

export type AccountAction =
  | 'account.email_verified'
  | 'account.password_changed'
  | 'account.password_reset'
  | 'account.secured'
  | 'account.sessions_revoked'
  | 'account.mfa_enabled'
  | 'account.mfa_disabled'
  | 'account.recovery_codes_regenerated'
  | 'account.recovery_code_used'
  | 'account.avatar_changed';

export interface AccountChange {
  readonly userId: string;
  readonly action: AccountAction;
  readonly ip: string | null;
  readonly detail?: Record<string, unknown>;
}

export async function auditAccountChange(
  db: Db,
  clock: Clock,
  log: FastifyBaseLogger,
  change: AccountChange,
): Promise<void> {
  try {
    await recordAudit(
      db,
      {
        actorId: change.userId,
        action: change.action,
        targetType: 'user',
        targetId: change.userId,
        ip: change.ip,
        detail: change.detail,
      },
      new Date(clock.now()),
    );
  } catch (err) {
    log.error({ err, event: 'audit_failed', action: change.action }, 'audit entry not recorded');
  }
}
