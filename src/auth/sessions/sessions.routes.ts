/** Refresh, logout, logout everywhere, and the caller's own sessions. */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Authenticator, principalOf } from '../../access/policy.js';
import { auditAccountChange } from '../../platform/audit/account-audit.js';
import { platformError } from '../../platform/errors.js';
import { clearSessionCookies, cookieNames, setSessionCookies } from './cookies.js';
import { acceptEmptyJsonBody } from './empty-json-body.js';
import { ownOriginCheck } from './request-origin.js';
import { ListQuery, SessionList, SessionParams, TokenResponse } from './sessions.schemas.js';
import {
  endSession,
  endUserSessions,
  listLiveSessions,
  refreshSession,
  type SessionDeps,
  sessionOfRefreshCookie,
} from './sessions.service.js';
import { findOwnLiveSession } from './sessions.store.js';

/**
 * Storage only (issue 14): a `"cookies"` directive would delete every cookie of the site, the
 * device cookie included (an attacker could then keep the owner in backoff) and sibling apps'
 * sessions too. The session cookies are cleared by name with Set-Cookie instead.
 */
const CLEAR_SITE_DATA = '"storage"';

function csrfHeader(request: FastifyRequest): string | undefined {
  const value = request.headers['x-csrf-token'];
  return typeof value === 'string' ? value : undefined;
}

function endReply(reply: FastifyReply, secure: boolean): FastifyReply {
  clearSessionCookies(reply, secure);
  return reply.header('clear-site-data', CLEAR_SITE_DATA).code(204).send();
}

export function sessionRoutes(
  deps: SessionDeps,
  authenticate: Authenticator,
  refreshLimit: onRequestHookHandler,
) {
  const secure = deps.config.secureCookies;
  const names = cookieNames(secure);
  const checkOrigin = ownOriginCheck(deps.config.publicUrl, deps.config.corsOrigins);

  return async (app: FastifyInstance) => {
    // Refresh and logout with `content-type: application/json` and no body (issue 18).
    acceptEmptyJsonBody(app);
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/auth/refresh',
      {
        config: { access: 'public' },
        onRequest: [refreshLimit],
        schema: { tags: ['auth'], response: { 200: TokenResponse } },
      },
      async (request, reply) => {
        checkOrigin(request);
        const issued = await refreshSession(
          deps,
          request.log,
          request.cookies[names.refresh],
          csrfHeader(request),
          request.ip,
        );
        setSessionCookies(
          reply,
          secure,
          issued.refreshToken,
          issued.csrfToken,
          issued.cookieMaxAge,
        );
        return {
          accessToken: issued.accessToken,
          tokenType: 'Bearer' as const,
          expiresIn: issued.expiresIn,
          csrfToken: issued.csrfToken,
        };
      },
    );

    // Bearer, or the refresh cookie with its CSRF token: a browser whose access token expired
    // can still log out.
    r.post(
      '/auth/logout',
      { config: { access: 'public' }, schema: { tags: ['auth'] } },
      async (request, reply) => {
        let sessionId: string;
        if (request.headers.authorization !== undefined) {
          sessionId = (await authenticate(request)).sessionId;
        } else {
          checkOrigin(request);
          ({ sessionId } = await sessionOfRefreshCookie(
            deps,
            request.cookies[names.refresh],
            csrfHeader(request),
          ));
        }
        await endSession(deps, sessionId);
        return endReply(reply, secure);
      },
    );

    r.post(
      '/auth/logout-all',
      { config: { access: 'authenticated' }, schema: { tags: ['auth'] } },
      async (request, reply) => {
        const { userId } = principalOf(request);
        const ended = await endUserSessions(deps, userId);
        await auditAccountChange(deps.audit, deps.db, deps.clock, request.log, {
          userId,
          action: 'account.sessions_revoked',
          ip: request.ip,
          detail: { sessions: ended.length },
        });
        return endReply(reply, secure);
      },
    );

    r.get(
      '/auth/sessions',
      {
        config: { access: 'authenticated' },
        schema: { tags: ['auth'], querystring: ListQuery, response: { 200: SessionList } },
      },
      async (request) => {
        const principal = principalOf(request);
        const { items: page, more } = await listLiveSessions(
          deps,
          principal.userId,
          request.query.limit,
          request.query.cursor,
        );
        return {
          items: page.map((s) => ({
            id: s.id,
            createdAt: s.created_at.toISOString(),
            lastUsedAt: s.last_used_at.toISOString(),
            ip: s.ip,
            userAgent: s.user_agent,
            current: s.id === principal.sessionId,
          })),
          nextCursor: more ? (page.at(-1)?.id ?? null) : null,
        };
      },
    );

    r.delete(
      '/auth/sessions/:id',
      {
        config: { access: 'authenticated' },
        schema: { tags: ['auth'], params: SessionParams },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        // Scoped to the caller in the query: another user's session is indistinguishable from none.
        const session = await findOwnLiveSession(deps.db, principal.userId, request.params.id);
        if (!session) throw platformError('not_found');
        await endSession(deps, session.id);
        return reply.code(204).send();
      },
    );
  };
}
