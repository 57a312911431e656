/**
 * `/accept-invite` (issue 19): the page behind the mailed invitation link. The link only shows
 * the form (mail scanners open links); the form sends the token, the password and the form's CSRF
 * token to the API's own service, under the same per-IP limit as `POST /auth/invitations/accept`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AcceptInvitationBody } from '../../admin/users/admin-support.schemas.js';
import { acceptInvitation } from '../../admin/users/invitations.service.js';
import { perIp } from '../../platform/rate-limit/rate-limits.js';
import { exposedError, pageError } from '../page-errors.js';
import { sendPage } from '../render.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { TokenQuery } from './forms.schemas.js';

const AcceptInviteForm = AcceptInvitationBody.extend({ _csrf: z.string().max(200) });

export function acceptInvitePages(deps: WebDeps) {
  const { login, render, forms } = deps;
  const title = 'Choose your password';
  const form = (request: FastifyRequest, reply: FastifyReply, token: string) => ({
    title,
    csrf: forms.token(request, reply),
    token,
  });

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/accept-invite',
      { config: PAGE, schema: { hide: true, querystring: TokenQuery } },
      async (request, reply) =>
        sendPage(reply, render, 'accept-invite', form(request, reply, request.query.token ?? '')),
    );

    r.post(
      '/accept-invite',
      {
        config: PAGE,
        onRequest: [perIp(login.abuse.limits.token)],
        preValidation: [forms.check],
        schema: { hide: true, body: AcceptInviteForm },
      },
      async (request, reply) => {
        const { token, password } = request.body;
        try {
          await acceptInvitation(login.accounts, request.ip, { token, password });
        } catch (err) {
          // A refusal re-renders the form with the API's code (a weak password keeps the link).
          const shown = exposedError(err);
          if (!shown) throw err;
          reply.headers(shown.headers);
          const data = { ...form(request, reply, token), error: pageError(shown) };
          return sendPage(reply, render, 'accept-invite', data, shown.status);
        }
        return sendPage(reply, render, 'message', {
          title: 'Your account is ready',
          paragraphs: ['Your password is set and your address is verified.'],
          steps: [],
          next: { href: '/login', label: 'Sign in' },
        });
      },
    );
  };
}
