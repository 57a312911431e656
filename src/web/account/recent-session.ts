/**
 * The pages' form of the API's recent-login rule (src/access/recent-auth.ts): this browser's
 * session, if it signed in within the last 5 minutes. Without a session the browser goes to
 * `/login`; with an older sign-in it goes back to `/account`, which names
 * `reauthentication_required`. Either way the action does not run.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RECENT_AUTH_SECONDS } from '../../access/recent-auth.js';
import type { SessionDeps } from '../../auth/sessions/sessions.service.js';
import { type PageSession, pageSession } from '../page-session.js';
import { loginUrl } from '../return-to.js';

/** This browser's session, or null once the reply has been sent (a 303 to log in again). */
export async function recentSession(
  sessions: SessionDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<PageSession | null> {
  const current = await pageSession(sessions, request);
  if (!current) {
    await reply.redirect(loginUrl('/account'), 303);
    return null;
  }
  if (!(await signedInRecently(sessions, current))) {
    await reply.redirect('/account?error=reauthentication_required', 303);
    return null;
  }
  return current;
}

/** Whether this session signed in within the last 5 minutes (the API's recent-login rule). */
export async function signedInRecently(
  sessions: SessionDeps,
  current: PageSession,
): Promise<boolean> {
  const row = await sessions.db
    .selectFrom('sessions')
    .select('auth_time')
    .where('id', '=', current.sessionId)
    .executeTakeFirst();
  const age = row ? sessions.clock.now() / 1000 - row.auth_time.getTime() / 1000 : Infinity;
  return age <= RECENT_AUTH_SECONDS;
}
