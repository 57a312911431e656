/**
 * Account administration. Each change and its audit entry commit in one transaction; sessions
 * that the change makes untrustworthy (demotion, lock, deletion) are revoked everywhere right
 * after, which reaches every instance within a second. Once committed, each audited change is
 * also an `admin_action` security event (issue 5).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Principal } from '../../access/policy.js';
import { endUserSessions, type SessionDeps } from '../../auth/sessions/sessions.service.js';
import { appendAudit, recordAudit } from '../../platform/audit/audit.store.js';
import type { User } from '../../platform/db/schema.js';
import { platformError } from '../../platform/errors.js';
import { emitLifecycle } from '../../platform/lifecycle/lifecycle.js';
import type { MediaStore } from '../../platform/media/media.store.js';
import { deleteAccount } from '../../users/account-deletion.js';
import { adminUserError } from './admin-users.errors.js';
import type { AdminUserPatch } from './admin-users.schemas.js';
import { findLiveUserForUpdate, updateRolesAndLock } from './admin-users.store.js';

export interface AdminDeps {
  readonly sessions: SessionDeps;
  readonly media: MediaStore;
}

export interface Actor {
  readonly principal: Principal;
  readonly ip: string | null;
  readonly log: FastifyBaseLogger;
}

/** Raises `admin_action` for audit entries that have committed. */
async function recordAdminActions(
  deps: AdminDeps,
  actor: Actor,
  targetId: string,
  actions: readonly string[],
): Promise<void> {
  const by = { userId: actor.principal.userId, ip: actor.ip };
  for (const action of actions) {
    await deps.sessions.events.adminAction(actor.log, by, action, targetId);
  }
}

/** Stored roles are the extra ones; `user` is implicit. Sorted and unique. */
function extraRoles(roles: readonly string[]): string[] {
  return [...new Set(roles.filter((r) => r !== 'user'))].sort();
}

export async function patchUser(
  deps: AdminDeps,
  actor: Actor,
  targetId: string,
  patch: AdminUserPatch,
): Promise<User> {
  const { db, clock } = deps.sessions;
  const self = targetId === actor.principal.userId;
  if (self && patch.roles !== undefined && !patch.roles.includes('admin')) {
    throw adminUserError('cannot_modify_self');
  }
  if (self && patch.locked === true) throw adminUserError('cannot_modify_self');

  const { user, revoke, actions } = await db.transaction().execute(async (trx) => {
    const now = new Date(clock.now());
    const before = await findLiveUserForUpdate(trx, targetId);
    if (!before) throw platformError('not_found');
    const roles = patch.roles ? extraRoles(patch.roles) : extraRoles(before.roles);
    const locked = patch.locked ?? before.locked;
    const oldRoles = extraRoles(before.roles);
    const removed = oldRoles.filter((r) => !roles.includes(r));
    const added = roles.filter((r) => !oldRoles.includes(r));
    const after = await updateRolesAndLock(trx, targetId, { roles, locked }, now);
    const audit = { actorId: actor.principal.userId, targetType: 'user', targetId, ip: actor.ip };
    const actions: string[] = [];
    if (removed.length > 0 || added.length > 0) {
      actions.push('admin.user.roles_changed');
      await appendAudit(
        deps.sessions.audit,
        trx,
        { ...audit, action: 'admin.user.roles_changed', detail: { from: oldRoles, to: roles } },
        now,
      );
      await emitLifecycle(trx, {
        type: 'user.updated',
        userId: targetId,
        data: { roles: { from: oldRoles, to: roles } },
      });
    }
    if (locked !== before.locked) {
      const action = locked ? 'admin.user.locked' : 'admin.user.unlocked';
      actions.push(action);
      await appendAudit(deps.sessions.audit, trx, { ...audit, action }, now);
      await emitLifecycle(trx, {
        type: locked ? 'user.locked' : 'user.unlocked',
        userId: targetId,
      });
    }
    return { user: after, revoke: removed.length > 0 || (locked && !before.locked), actions };
  });
  // A demoted or locked account keeps no session: its tokens carry the old roles. An admin who
  // drops one of their own extra roles keeps the session they are using (its next refresh
  // carries the new roles); their other sessions end.
  if (revoke) {
    await endUserSessions(deps.sessions, targetId, self ? actor.principal.sessionId : undefined);
  }
  await recordAdminActions(deps, actor, targetId, actions);
  return user;
}

/** The same tombstone as self-service deletion (users/account-deletion.ts), audited as the admin's. */
export async function deleteUser(deps: AdminDeps, actor: Actor, targetId: string): Promise<void> {
  if (targetId === actor.principal.userId) throw adminUserError('cannot_modify_self');
  await deleteAccount(
    deps,
    targetId,
    {
      actorId: actor.principal.userId,
      action: 'admin.user.deleted',
      targetType: 'user',
      targetId,
      ip: actor.ip,
    },
    'admin',
  );
  await recordAdminActions(deps, actor, targetId, ['admin.user.deleted']);
}

export async function forceLogout(deps: AdminDeps, actor: Actor, targetId: string): Promise<void> {
  const { db, clock } = deps.sessions;
  const exists = await db
    .selectFrom('users')
    .select('id')
    .where('id', '=', targetId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!exists) throw platformError('not_found');
  const ended = await endUserSessions(deps.sessions, targetId);
  await recordAudit(
    deps.sessions.audit,
    db,
    {
      actorId: actor.principal.userId,
      action: 'admin.user.sessions_revoked',
      targetType: 'user',
      targetId,
      ip: actor.ip,
      detail: { sessions: ended.length },
    },
    new Date(clock.now()),
  );
  await recordAdminActions(deps, actor, targetId, ['admin.user.sessions_revoked']);
}
