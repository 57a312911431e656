/**
 * `/account` profile forms (issue 15): the display name (the service of `PATCH /users/me`, same
 * validation) and the email change (the service of `POST /auth/email/change`: recent sign-in and
 * the password, then a confirmation link to the new address). Refusals are pages with the API's
 * codes; every form carries `_csrf`.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestEmailChange } from '../../auth/accounts/email-change.js';
import { EmailChangeBody, emailChangeDeps } from '../../auth/accounts/email-change.routes.js';
import { createMediaStore } from '../../platform/media/media.store.js';
import { ProfilePatch } from '../../users/me.schemas.js';
import { type MeDeps, updateProfile } from '../../users/me.service.js';
import { pageSession } from '../page-session.js';
import { sendPage } from '../render.js';
import { loginUrl } from '../return-to.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { BACK_TO_ACCOUNT } from './account-notices.js';
import { recentSession } from './recent-session.js';

const csrf = { _csrf: z.string().max(200) };
const ProfileForm = ProfilePatch.extend(csrf);
const EmailForm = EmailChangeBody.extend(csrf);

/** The deps of the `/users/me` services, built from the pages' own. */
export function meDepsOf(deps: WebDeps): MeDeps {
  const { sessions, accounts } = deps.login;
  return {
    sessions,
    media: createMediaStore(sessions.db),
    mailer: accounts.mailer,
  };
}

export function profilePages(deps: WebDeps) {
  const { login, render, forms } = deps;
  const { sessions } = login;
  const me = meDepsOf(deps);
  const emailChange = emailChangeDeps(login);
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    for (const path of ['/account/profile', '/account/email']) {
      r.get(path, { config: PAGE, schema: { hide: true } }, async (_request, reply) =>
        reply.redirect(BACK_TO_ACCOUNT, 302),
      );
    }

    r.post(
      '/account/profile',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: ProfileForm } },
      async (request, reply) => {
        const current = await pageSession(sessions, request);
        if (!current) return reply.redirect(loginUrl('/account'), 303);
        await updateProfile(
          me,
          { userId: current.user.id, ip: request.ip, log: request.log },
          { displayName: request.body.displayName },
        );
        return reply.redirect('/account?done=profile', 303);
      },
    );

    r.post(
      '/account/email',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: EmailForm } },
      async (request, reply) => {
        const current = await recentSession(sessions, request, reply);
        if (!current) return reply;
        const { newEmail, password } = request.body;
        await requestEmailChange(
          emailChange,
          request.log,
          { userId: current.user.id, sessionId: current.sessionId, ip: request.ip },
          { newEmail, password },
        );
        return sendPage(reply, render, 'message', {
          title: 'Check your inbox',
          signedIn: true,
          paragraphs: [
            `We sent a confirmation link to ${newEmail}. Open it to move your account to that address.`,
            'Nothing changes until you open the link. Your current address keeps working meanwhile.',
          ],
          steps: [],
          next: { href: '/account', label: 'Back to your account' },
        });
      },
    );
  };
}
