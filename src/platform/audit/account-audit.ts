/**
 * Audit entries for security-relevant changes a user makes to their own account (password, MFA,
 * sessions, verification). MFA changes append their entry inside the change's own transaction
 * (appendAccountChange): the change and its entry commit together, or neither does. For the
 * others the change has already committed, so a failure to record is logged loudly instead of
 * failing a request whose effect cannot be undone.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { type AuditChain, appendAudit, recordAudit } from './audit.store.js';

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
  | 'account.avatar_changed'
  | 'account.profile_updated'
  | 'account.deleted'
  | 'account.created_by_provider'
  | 'account.identity_linked'
  | 'account.identity_unlinked'
  | 'account.email_change_requested'
  | 'account.email_changed'
  | 'account.email_change_reverted'
  | 'account.passkey_added'
  | 'account.passkey_removed';

export interface AccountChange {
  readonly userId: string;
  readonly action: AccountAction;
  readonly ip: string | null;
  readonly detail?: Record<string, unknown>;
}

function entry(change: AccountChange) {
  return {
    actorId: change.userId,
    action: change.action,
    targetType: 'user',
    targetId: change.userId,
    ip: change.ip,
    detail: change.detail,
  };
}

/** Appends the entry inside `trx`, the transaction of the change it records; a failure aborts both. */
export async function appendAccountChange(
  chain: AuditChain,
  trx: Db,
  now: Date,
  change: AccountChange,
): Promise<void> {
  await appendAudit(chain, trx, entry(change), now);
}

/** Records the entry of a change that has already committed; a failure is only logged. */
export async function auditAccountChange(
  chain: AuditChain,
  db: Db,
  clock: Clock,
  log: FastifyBaseLogger,
  change: AccountChange,
): Promise<void> {
  try {
    await recordAudit(chain, db, entry(change), new Date(clock.now()));
  } catch (err) {
    log.error({ err, event: 'audit_failed', action: change.action }, 'audit entry not recorded');
  }
}
