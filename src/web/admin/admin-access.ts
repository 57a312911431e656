/**
 * Who may use `/admin` (issue 15), the page form of the API's gate (src/access/policy.ts): a
 * signed-in account holding the admin role whose session passed a second factor (the sessions
 * row's `mfa`, what the access token's `amr` says). Without a session the browser goes to
 * `/login`; any other account gets 403 `forbidden`, an admin without MFA 403
 * `mfa_enrollment_required`, as from the API. Changes also need a sign-in within 5 minutes
 * (src/access/recent-auth.ts): else 401 `reauthentication_required` and nothing runs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../access/policy.js';
import { RECENT_AUTH_SECONDS, reauthenticationRequired } from '../../access/recent-auth.js';
import { adminUserError } from '../../admin/users/admin-users.errors.js';
import type { Actor } from '../../admin/users/admin-users.service.js';
import { effectiveRoles, type SessionDeps } from '../../auth/sessions/sessions.service.js';
import { platformError } from '../../platform/errors.js';
import { type PageSession, pageSession } from '../page-session.js';
import { loginUrl } from '../return-to.js';

export interface AdminPageSession extends PageSession {
  /** The admin as the admin services take them (the same shape as the API's caller). */
  readonly actor: Actor;
}

/** The admin of this browser, or null once the reply has been sent (a redirect to `/login`). */
export async function adminSession(
  sessions: SessionDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  returnTo = '/admin',
): Promise<AdminPageSession | null> {
  const current = await pageSession(sessions, request);
  if (!current) {
    await reply.redirect(loginUrl(returnTo), request.method === 'GET' ? 302 : 303);
    return null;
  }
  const roles = effectiveRoles(current.user.roles);
  if (!roles.includes('admin')) throw platformError('forbidden');
  const row = await sessions.db
    .selectFrom('sessions')
    .select(['auth_time', 'mfa'])
    .where('id', '=', current.sessionId)
    .executeTakeFirst();
  if (!row?.mfa) throw adminUserError('mfa_enrollment_required');
  const principal: Principal = {
    userId: current.user.id,
    sessionId: current.sessionId,
    roles,
    authTime: Math.floor(row.auth_time.getTime() / 1000),
    tokenId: '',
    mfa: true,
  };
  return { ...current, actor: { principal, ip: request.ip, log: request.log } };
}

/** As `requireRecentAuth`: a change needs a sign-in within the last 5 minutes. */
export function requireRecentSignIn(sessions: SessionDeps, admin: AdminPageSession): void {
  const age = sessions.clock.now() / 1000 - admin.actor.principal.authTime;
  if (age > RECENT_AUTH_SECONDS) {
    throw reauthenticationRequired('page');
  }
}
