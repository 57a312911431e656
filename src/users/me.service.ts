/**
 * Self-service changes to one's own account (issue 19): the display name, and deletion. Each
 * writes its audit entry and lifecycle event in the change's own transaction.
 */
import type { FastifyBaseLogger } from 'fastify';
import { normalizeDisplayName } from '../auth/accounts/email.js';
import { accountDeletedMail } from '../auth/accounts/mails.js';
import { appendAccountChange } from '../platform/audit/account-audit.js';
import type { User } from '../platform/db/schema.js';
import { platformError } from '../platform/errors.js';
import { emitLifecycle } from '../platform/lifecycle/lifecycle.js';
import type { Mailer } from '../platform/mail/mailer.js';
import { type DeletionDeps, deleteAccount } from './account-deletion.js';

export interface MeDeps extends DeletionDeps {
  readonly mailer: Mailer;
}

export interface Caller {
  readonly userId: string;
  readonly ip: string | null;
  readonly log: FastifyBaseLogger;
}

/** Sets the display name, validated as at register (400 `validation_failed`). */
export async function updateProfile(
  deps: MeDeps,
  caller: Caller,
  patch: { displayName: string },
): Promise<User> {
  const displayName = normalizeDisplayName(patch.displayName);
  if (!displayName) {
    throw platformError('validation_failed', {
      errors: [{ path: 'body.displayName', message: 'must be 1 to 100 visible characters' }],
    });
  }
  const { db, clock, audit } = deps.sessions;
  return db.transaction().execute(async (trx) => {
    const now = new Date(clock.now());
    const user = await trx
      .updateTable('users')
      .set({ display_name: displayName, updated_at: now })
      .where('id', '=', caller.userId)
      .where('deleted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!user) throw platformError('unauthorized');
    const fields = ['displayName'];
    await appendAccountChange(audit, trx, now, {
      userId: caller.userId,
      action: 'account.profile_updated',
      ip: caller.ip,
      detail: { fields },
    });
    await emitLifecycle(trx, { type: 'user.updated', userId: caller.userId, data: { fields } });
    return user;
  });
}

/**
 * Deletes the caller's account exactly like the admin delete (account-deletion.ts), then mails
 * the address it had, off the request path.
 */
export async function deleteOwnAccount(deps: MeDeps, caller: Caller): Promise<void> {
  const before = await deleteAccount(
    deps,
    caller.userId,
    {
      actorId: caller.userId,
      action: 'account.deleted',
      targetType: 'user',
      targetId: caller.userId,
      ip: caller.ip,
    },
    'self',
  );
  deps.mailer.send(accountDeletedMail(before.email)).catch((err: unknown) => {
    caller.log.warn({ event: 'mail_failed', errName: (err as Error)?.name }, 'mail not sent');
  });
}
