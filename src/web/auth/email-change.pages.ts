/**
 * The pages behind the email-change links (issue 19): `/confirm-email` and `/revert-email`. The
 * mailed link only shows a button (mail scanners open links); the form POSTs the token with the
 * form's CSRF token and runs the API's own service, limits and session endings.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { confirmEmailChange, revertEmailChange } from '../../auth/accounts/email-change.js';
import { emailChangeDeps } from '../../auth/accounts/email-change.routes.js';
import { endUserSessions } from '../../auth/sessions/sessions.service.js';
import { perIp } from '../../platform/rate-limit/rate-limits.js';
import { sendPage } from '../render.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { orForm } from './account-links.routes.js';
import { TokenForm, TokenQuery } from './forms.schemas.js';

export function emailChangePages(deps: WebDeps) {
  const { login, render, forms } = deps;
  const service = emailChangeDeps(login);
  const tokenLimit = perIp(login.abuse.limits.token);
  const page = (name: 'confirm-email' | 'revert-email', title: string) => ({
    name,
    data: (request: FastifyRequest, reply: Parameters<typeof forms.token>[1], token: string) => ({
      title,
      csrf: forms.token(request, reply),
      token,
    }),
  });
  const confirm = page('confirm-email', 'Confirm your new address');
  const revert = page('revert-email', 'Undo the address change');

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    for (const p of [confirm, revert]) {
      r.get(
        `/${p.name}`,
        { config: PAGE, schema: { hide: true, querystring: TokenQuery } },
        async (request, reply) =>
          sendPage(reply, render, p.name, p.data(request, reply, request.query.token ?? '')),
      );
    }

    r.post(
      '/confirm-email',
      {
        config: PAGE,
        onRequest: [tokenLimit],
        preValidation: [forms.check],
        schema: { hide: true, body: TokenForm },
      },
      async (request, reply) => {
        const { token } = request.body;
        const form = { name: confirm.name, data: confirm.data(request, reply, token) };
        return orForm(render, reply, form, async () => {
          const { user, keepSessionId } = await confirmEmailChange(service, request.log, {
            token,
            ip: request.ip,
          });
          await endUserSessions(login.sessions, user.id, keepSessionId ?? undefined);
          return sendPage(reply, render, 'message', {
            title: 'Address changed',
            paragraphs: [
              `Your account now uses ${user.email}. Sign in with it from now on.`,
              'Your other sessions were signed out, and your previous address was told about the change.',
            ],
            steps: [],
            next: { href: '/account', label: 'Go to your account' },
          });
        });
      },
    );

    r.post(
      '/revert-email',
      {
        config: PAGE,
        onRequest: [tokenLimit],
        preValidation: [forms.check],
        schema: { hide: true, body: TokenForm },
      },
      async (request, reply) => {
        const { token } = request.body;
        const form = { name: revert.name, data: revert.data(request, reply, token) };
        return orForm(render, reply, form, async () => {
          const userId = await revertEmailChange(service, request.log, { token, ip: request.ip });
          await endUserSessions(login.sessions, userId);
          return sendPage(reply, render, 'message', {
            title: 'The change is undone',
            paragraphs: [
              'This address is back on your account, and every session on every device was signed out.',
              'Sign-in with the current password is blocked: we mailed you a link to choose a new one.',
            ],
            steps: [],
            next: { href: '/forgot-password', label: 'No mail? Ask for a new link' },
          });
        });
      },
    );
  };
}
