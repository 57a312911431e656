/**
 * `/account` (first part: who is signed in, the sessions, log out) and `POST /logout`. Without a
 * live session the page answers 302 to `/login?returnTo=/account`; it is `no-store` like every
 * page, so the back button after logout asks the server again and gets that redirect.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { reauthenticationRequired } from '../../access/recent-auth.js';
import { listIdentities } from '../../auth/oauth/identities.store.js';
import { oauthError } from '../../auth/oauth/oauth.errors.js';
import { listPasskeys } from '../../auth/passkeys/passkeys.store.js';
import { clearSessionCookies, cookieNames } from '../../auth/sessions/cookies.js';
import {
  endSession,
  listLiveSessions,
  liveSessionOfRefreshCookie,
} from '../../auth/sessions/sessions.service.js';
import { CsrfOnlyForm } from '../auth/forms.schemas.js';
import { redirectedError } from '../auth/login.routes.js';
import { pageError } from '../page-errors.js';
import { pageSession } from '../page-session.js';
import { type PageError, sendPage } from '../render.js';
import { loginUrl } from '../return-to.js';
import { PASSKEY_PAGE_SCRIPTS } from '../scripts.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { accountNotice } from './account-notices.js';
import { providerLabel } from './identities.routes.js';

const SESSIONS_SHOWN = 50;

/** `2026-12-05 19:58 UTC`: readable, and the same for every reader. */
function utc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const IDENTITIES_SHOWN = 50;

const AccountQuery = z.object({
  error: z.string().max(64).optional(),
  done: z.string().max(64).optional(),
});

/** A refusal that sent the browser back here; only known codes are shown, never echoed. */
function accountError(code: string | undefined): PageError | undefined {
  if (code === 'reauthentication_required') {
    return pageError(reauthenticationRequired('page'));
  }
  if (code === 'last_sign_in_method') return pageError(oauthError('last_sign_in_method'));
  return redirectedError(code);
}

export function accountPages(deps: WebDeps) {
  const { login, render, forms } = deps;
  const { sessions } = login;
  const providers = sessions.config.oauthProviders.map((p) => p.name);
  const secure = sessions.config.secureCookies;
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/account',
      { config: PAGE, schema: { hide: true, querystring: AccountQuery } },
      async (request, reply) => {
        const current = await pageSession(sessions, request);
        if (!current) return reply.redirect(loginUrl('/account'), 302);
        const { items } = await listLiveSessions(sessions, current.user.id, SESSIONS_SHOWN);
        const identities = await listIdentities(
          sessions.db,
          current.user.id,
          IDENTITIES_SHOWN,
          undefined,
        );
        const linked = new Set(identities.map((i) => i.provider));
        const passkeys = await listPasskeys(sessions.db, current.user.id);
        return sendPage(reply, render, 'account', {
          title: 'Your account',
          wide: true,
          signedIn: true,
          scripts: PASSKEY_PAGE_SCRIPTS,
          error: accountError(request.query.error),
          notice: accountNotice(request.query.done),
          csrf: forms.token(request, reply),
          identities: identities.map((i) => ({
            id: i.id,
            label: providerLabel(i.provider),
            email: i.email,
            createdAt: utc(i.created_at),
          })),
          passkeys: passkeys.map((p) => ({
            id: p.id,
            name: p.name,
            createdAt: utc(new Date(p.created_at)),
            lastUsedAt: p.last_used_at === null ? null : utc(new Date(p.last_used_at)),
          })),
          linkable: providers
            .filter((name) => !linked.has(name))
            .map((name) => ({ name, label: providerLabel(name) })),
          user: {
            displayName: current.user.display_name,
            email: current.user.email,
            avatarUrl: current.user.avatar_url,
          },
          mfa: current.user.mfa_enabled,
          hasPassword: current.user.password_hash !== null,
          sessions: items.map((s) => ({
            id: s.id,
            userAgent: s.user_agent,
            ip: s.ip,
            lastUsedAt: utc(s.last_used_at),
            createdAt: utc(s.created_at),
            current: s.id === current.sessionId,
          })),
        });
      },
    );

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
