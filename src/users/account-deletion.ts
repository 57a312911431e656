/**
 * Deleting an account, the one path shared by the admin delete (`DELETE /admin/users/:id`) and
 * self-service (`DELETE /users/me`, issue 19). In one transaction: the row becomes a tombstone
 * (personal data and credentials erased, the row kept so orders, ledger entries and posts that
 * point at it stay valid), its traces are erased (sessions' addresses, security events' detail,
 * one-time tokens, social-login identities, order instructions), the audit entry and the
 * `user.deleted` lifecycle event are written, and the avatar image is removed. Then every session
 * ends everywhere (access tokens included, through the revocation list). The wallet and its
 * ledger stay for accounting: they hold amounts and references, no personal data.
 */
import { findLiveUserForUpdate, tombstoneUser } from '../admin/users/admin-users.store.js';
import { endUserSessions, type SessionDeps } from '../auth/sessions/sessions.service.js';
import { type AuditEntryInput, appendAudit } from '../platform/audit/audit.store.js';
import type { User } from '../platform/db/schema.js';
import { platformError } from '../platform/errors.js';
import { emitLifecycle } from '../platform/lifecycle/lifecycle.js';
import type { MediaStore } from '../platform/media/media.store.js';

export interface DeletionDeps {
  readonly sessions: SessionDeps;
  readonly media: MediaStore;
}

/**
 * Tombstones a live account; 404 `not_found` when there is none. `audit` is the entry that
 * records who deleted it; `by` goes into the lifecycle event (`admin` or `self`). Returns the
 * account as it was, for what the caller does next (a confirmation mail to the old address).
 */
export async function deleteAccount(
  deps: DeletionDeps,
  userId: string,
  audit: AuditEntryInput,
  by: 'admin' | 'self',
): Promise<User> {
  const { db, clock } = deps.sessions;
  const before = await db.transaction().execute(async (trx) => {
    const now = new Date(clock.now());
    const found = await findLiveUserForUpdate(trx, userId);
    if (!found) throw platformError('not_found');
    await tombstoneUser(trx, userId, now);
    await appendAudit(deps.sessions.audit, trx, audit, now);
    await emitLifecycle(trx, { type: 'user.deleted', userId, data: { by } });
    // The avatar's bytes go with the account, in the same transaction (shared media, issue 17).
    await deps.media.remove(found.avatar_url, trx);
    return found;
  });
  await endUserSessions(deps.sessions, userId);
  return before;
}
