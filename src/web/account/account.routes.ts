/**
 * `/account` (first part: who is signed in, the sessions, log out) and `POST /logout`. Without a
 * live session the page answers 302 to `/login?returnTo=/account`; it is `no-store` like every
 * page, so the back button after logout asks the server again and gets that redirect.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { clearSessionCookies, cookieNames } from '../../auth/sessions/cookies.js';
import {
  endSession,
  listLiveSessions,
  liveSessionOfRefreshCookie,
} from '../../auth/sessions/sessions.service.js';
import { CsrfOnlyForm } from '../auth/forms.schemas.js';
import { pageSession } from '../page-session.js';
import { sendPage } from '../render.js';
import { loginUrl } from '../return-to.js';
import { PAGE, type WebDeps } from '../web.deps.js';

const SESSIONS_SHOWN = 50;

/** `2026-12-05 19:58 UTC`: readable, and the same for every reader. */
function utc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function accountPages(deps: WebDeps) {
  const { login, render, forms } = deps;
  const { sessions } = login;
  const secure = sessions.config.secureCookies;
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/account', { config: PAGE, schema: { hide: true } }, async (request, reply) => {
      const current = await pageSession(sessions, request);
      if (!current) return reply.redirect(loginUrl('/account'), 302);
      const { items } = await listLiveSessions(sessions, current.user.id, SESSIONS_SHOWN);
      return sendPage(reply, render, 'account', {
        title: 'Your account',
        wide: true,
        signedIn: true,
        csrf: forms.token(request, reply),
        user: { displayName: current.user.display_name, email: current.user.email },
        sessions: items.map((s) => ({
          userAgent: s.user_agent,
          ip: s.ip,
          lastUsedAt: utc(s.last_used_at),
          createdAt: utc(s.created_at),
          current: s.id === current.sessionId,
        })),
      });
    });

    // Ends this browser's session like POST /auth/logout: the device cookie stays.
    r.post(
      '/logout',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: CsrfOnlyForm } },
      async (request, reply) => {
        const refresh = request.cookies[cookieNames(secure).refresh];
        const session = await liveSessionOfRefreshCookie(sessions, refresh);
        if (session) await endSession(sessions, session.sessionId);
        clearSessionCookies(reply, secure);
        return reply.header('clear-site-data', '"storage"').redirect('/login', 303);
      },
    );
  };
}
