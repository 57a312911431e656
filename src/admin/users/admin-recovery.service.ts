/**
 * The support desk's recovery tools (issue 19): reset a user's lost second factor, require a
 * password reset at the next login, resend a verification (or invitation) link. Each change, its
 * audit entry and its lifecycle event commit together; sessions end right after; each committed
 * action is also an `admin_action` security event, like every other admin action.
 */
import { type AccountDeps, sendNotice } from '../../auth/accounts/accounts.service.js';
import { findUserById } from '../../auth/accounts/accounts.store.js';
import { enqueueAccountMail } from '../../auth/accounts/mail-outbox.js';
import { mfaChangedMail } from '../../auth/accounts/mails.js';
import { disableMfa } from '../../auth/mfa/mfa.store.js';
import { countPasskeys, deletePasskeysOf } from '../../auth/passkeys/passkeys.store.js';
import { endUserSessions, type SessionDeps } from '../../auth/sessions/sessions.service.js';
import { type AuditEntryInput, appendAudit } from '../../platform/audit/audit.store.js';
import type { Db } from '../../platform/db/database.js';
import { platformError } from '../../platform/errors.js';
import { emitLifecycle } from '../../platform/lifecycle/lifecycle.js';
import type { Mail } from '../../platform/mail/mailer.js';
import { MFA_RESET_NOTICE } from './admin-support.mails.js';
import { markPasswordResetRequired } from './admin-support.store.js';
import { adminUserError } from './admin-users.errors.js';
import type { Actor } from './admin-users.service.js';
import { findLiveUserForUpdate } from './admin-users.store.js';
import { issueInvitation, sendInBackground } from './invitations.service.js';

export interface SupportDeps {
  readonly sessions: SessionDeps;
  readonly accounts: AccountDeps;
}

/** Raises `admin_action` for an audit entry that has committed. */
export async function recordAdminAction(
  deps: SupportDeps,
  actor: Actor,
  targetId: string,
  action: string,
): Promise<void> {
  const by = { userId: actor.principal.userId, ip: actor.ip };
  await deps.sessions.events.adminAction(actor.log, by, action, targetId);
}

function auditEntry(
  actor: Actor,
  targetId: string,
  action: string,
  detail?: Record<string, unknown>,
): AuditEntryInput {
  return {
    actorId: actor.principal.userId,
    action,
    targetType: 'user',
    targetId,
    ip: actor.ip,
    detail,
  };
}

/** Runs `change` on the live, locked row of `targetId` in one transaction; 404 when there is none. */
async function onLiveUser<T>(
  deps: SupportDeps,
  targetId: string,
  change: (
    trx: Db,
    user: NonNullable<Awaited<ReturnType<typeof findLiveUserForUpdate>>>,
    now: Date,
  ) => Promise<T>,
): Promise<T> {
  return deps.sessions.db.transaction().execute(async (trx) => {
    const now = new Date(deps.sessions.clock.now());
    const user = await findLiveUserForUpdate(trx, targetId);
    if (!user) throw platformError('not_found');
    return change(trx, user, now);
  });
}

/**
 * Removes another user's second factor (TOTP, pending enrolment, recovery codes, passkeys) and
 * ends their sessions. Only an administrator who has a second factor themselves may: the gate
 * already requires the session to have passed one; here the account must still have it (a
 * factor removed while the token lives does not count). Their own factor: 409 (use DELETE
 * /auth/mfa/totp). The reason goes into the audit entry only.
 */
export async function resetUserMfa(
  deps: SupportDeps,
  actor: Actor,
  targetId: string,
  reason: string,
): Promise<void> {
  const own = await findUserById(deps.sessions.db, actor.principal.userId);
  // A passkey is a second factor too (issue 15).
  const ownFactor =
    own !== undefined && (own.mfa_enabled || (await countPasskeys(deps.sessions.db, own.id)) > 0);
  if (!actor.principal.mfa || !ownFactor) throw adminUserError('mfa_enrollment_required');
  if (targetId === actor.principal.userId) throw adminUserError('cannot_modify_self');
  const { user, removed } = await onLiveUser(deps, targetId, async (trx, user, now) => {
    const passkeys = await deletePasskeysOf(trx, targetId);
    const removed = user.mfa_enabled || user.totp_pending_sealed !== null || passkeys > 0;
    await disableMfa(trx, targetId, now);
    const action = 'admin.user.mfa_reset';
    await appendAudit(
      deps.sessions.audit,
      trx,
      auditEntry(actor, targetId, action, { reason, removed }),
      now,
    );
    if (removed) {
      await emitLifecycle(trx, {
        type: 'user.mfa_changed',
        userId: targetId,
        data: { mfaEnabled: false, by: 'admin' },
      });
    }
    return { user, removed };
  });
  // The lost phone may still hold a session.
  await endUserSessions(deps.sessions, targetId);
  if (removed) {
    sendNotice(deps.accounts, actor.log, user, (url) =>
      mfaChangedMail(user.email, MFA_RESET_NOTICE, url),
    );
  }
  await recordAdminAction(deps, actor, targetId, 'admin.user.mfa_reset');
}

/**
 * Marks the account: every session ends now, and the next login with the right password answers
 * 403 `password_reset_required` and mails a reset link (accounts/login-flow.ts); a completed
 * reset clears the mark. A wrong password still answers `invalid_credentials`.
 */
export async function requirePasswordReset(
  deps: SupportDeps,
  actor: Actor,
  targetId: string,
): Promise<void> {
  if (targetId === actor.principal.userId) throw adminUserError('cannot_modify_self');
  const action = 'admin.user.password_reset_required';
  await onLiveUser(deps, targetId, async (trx, _user, now) => {
    await markPasswordResetRequired(trx, targetId, now);
    await appendAudit(deps.sessions.audit, trx, auditEntry(actor, targetId, action), now);
  });
  // One `session.revoked` lifecycle event lists the ended sessions (sessions.service).
  await endUserSessions(deps.sessions, targetId);
  await recordAdminAction(deps, actor, targetId, action);
}

/**
 * Mails a fresh verification link to an unverified account (through the account-mail outbox, as
 * `POST /auth/verify-email/resend` does; the worker makes the token), or a fresh invitation to an
 * invited account that has no password yet (a verification link would ask for a password it does
 * not have). A verified or locked account gets nothing; the answer is the same.
 */
export async function resendVerification(
  deps: SupportDeps,
  actor: Actor,
  targetId: string,
): Promise<void> {
  const action = 'admin.user.verification_resent';
  const mail = await onLiveUser(deps, targetId, async (trx, user, now) => {
    let sent: 'none' | 'verification' | 'invitation' = 'none';
    let mail: Mail | undefined;
    if (user.email_verified_at === null && !user.locked) {
      if (user.password_hash === null) {
        mail = await issueInvitation(deps.accounts, trx, user, now);
        sent = 'invitation';
      } else {
        // The worker checks again at send time: a link only for an account still unverified.
        const clock = deps.sessions.clock;
        await enqueueAccountMail(trx, clock, 'verification_resend', user.email_key, user.id);
        sent = 'verification';
      }
    }
    await appendAudit(deps.sessions.audit, trx, auditEntry(actor, targetId, action, { sent }), now);
    return mail;
  });
  if (mail) sendInBackground(deps.accounts, actor.log, mail);
  await recordAdminAction(deps, actor, targetId, action);
}
