/**
 * Who is signed in on a page: the API's refresh-token session, read from its cookie without
 * rotating it (GET pages only: a change always goes through a form with its CSRF token).
 */
import type { FastifyRequest } from 'fastify';
import { findUserById } from '../auth/accounts/accounts.store.js';
import { cookieNames } from '../auth/sessions/cookies.js';
import { liveSessionOfRefreshCookie, type SessionDeps } from '../auth/sessions/sessions.service.js';
import type { User } from '../platform/db/schema.js';

export interface PageSession {
  readonly sessionId: string;
  readonly user: User;
}

/** The signed-in user of this browser, or null. */
export async function pageSession(
  deps: SessionDeps,
  request: FastifyRequest,
): Promise<PageSession | null> {
  const refresh = request.cookies[cookieNames(deps.config.secureCookies).refresh];
  const session = await liveSessionOfRefreshCookie(deps, refresh);
  if (!session) return null;
  const user = await findUserById(deps.db, session.userId);
  if (!user || user.deleted_at) return null;
  return { sessionId: session.sessionId, user };
}
