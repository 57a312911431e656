/**
 * Linked sign-in providers on `/account` (issue 16): link one (a link grant for this browser's
 * session, then the provider) and unlink one (never the last way in). Both change how the account
 * is entered, so both need a login within the last 5 minutes, like the API routes.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { unlinkIdentity } from '../../auth/oauth/identities.routes.js';
import { issueLinkGrant, linkStartPath } from '../../auth/oauth/link-grant.js';
import { continuePage } from '../../auth/oauth/oauth.routes.js';
import { AppError, platformError } from '../../platform/errors.js';
import { CsrfOnlyForm } from '../auth/forms.schemas.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { recentSession } from './recent-session.js';

const LinkForm = CsrfOnlyForm.extend({ provider: z.string().regex(/^[a-z0-9]{1,40}$/) });
const UnlinkParams = z.strictObject({ id: z.uuid() });

/** How a provider's slug reads on a button. */
export function providerLabel(name: string): string {
  if (name === 'github') return 'GitHub';
  return name.charAt(0).toUpperCase() + name.slice(1);
}

export function identityPages(deps: WebDeps) {
  const { login, forms } = deps;
  const { sessions } = login;
  const configured = new Set(sessions.config.oauthProviders.map((p) => p.name));

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/account/identities/link',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: LinkForm } },
      async (request, reply) => {
        const { provider } = request.body;
        if (!configured.has(provider)) throw platformError('not_found');
        const current = await recentSession(sessions, request, reply);
        if (!current) return reply;
        const grant = await issueLinkGrant(sessions.state, {
          userId: current.user.id,
          sessionId: current.sessionId,
          provider,
        });
        const start = linkStartPath(provider, grant, '/account');
        // Not a redirect: CSP `form-action 'self'` also governs where a form's redirects lead,
        // and this one ends at the provider. A new navigation from a page is not a form's.
        return reply.code(200).type('text/html; charset=utf-8').send(continuePage(start));
      },
    );

    r.post(
      '/account/identities/:id/unlink',
      {
        config: PAGE,
        preValidation: [forms.check],
        schema: { hide: true, params: UnlinkParams, body: CsrfOnlyForm },
      },
      async (request, reply) => {
        const current = await recentSession(sessions, request, reply);
        if (!current) return reply;
        try {
          await unlinkIdentity(sessions, request, current.user.id, request.params.id);
        } catch (err) {
          // The last way in stays, and the account page says why.
          if (err instanceof AppError && err.code === 'last_sign_in_method') {
            return reply.redirect('/account?error=last_sign_in_method', 303);
          }
          throw err;
        }
        return reply.redirect('/account', 303);
      },
    );
  };
}
