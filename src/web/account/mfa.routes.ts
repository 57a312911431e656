/**
 * `/account` two-step verification forms (issue 15), each on the service its API route uses
 * (src/auth/mfa/mfa.routes.ts), with the same rules:
 * - set up (`POST /auth/mfa/totp/setup`) and confirm (`POST /auth/mfa/totp/confirm`): a sign-in
 *   within 5 minutes; the recovery codes are shown once;
 * - regenerate recovery codes (`POST /auth/mfa/recovery-codes`): recent sign-in and a code;
 * - turn off (`DELETE /auth/mfa/totp`): recent sign-in and a code, then every session ends, this
 *   one too, as in the API.
 * Refusals are pages with the API's codes; every page here is `no-store` like every page.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CodeBody } from '../../auth/mfa/mfa.schemas.js';
import {
  confirmTotp,
  type MfaActor,
  regenerateRecoveryCodes,
  removeTotp,
  setupTotp,
} from '../../auth/mfa/mfa.service.js';
import { clearSessionCookies } from '../../auth/sessions/cookies.js';
import { endUserSessions } from '../../auth/sessions/sessions.service.js';
import type { PageSession } from '../page-session.js';
import { sendPage } from '../render.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { BACK_TO_ACCOUNT } from './account-notices.js';
import { recentSession } from './recent-session.js';

const csrf = { _csrf: z.string().max(200) };
const CodeForm = CodeBody.extend(csrf);
const CsrfForm = z.strictObject(csrf);

const actorOf = (current: PageSession, ip: string): MfaActor => ({
  id: current.user.id,
  email: current.user.email,
  ip,
});

export function mfaPages(deps: WebDeps) {
  const { login, render, forms } = deps;
  const { sessions } = login;
  const mfa = login.mfa.deps;
  const secure = sessions.config.secureCookies;

  const showCodes = (reply: FastifyReply, title: string, codes: string[]) =>
    sendPage(reply, render, 'mfa-codes', { title, signedIn: true, codes });

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    for (const path of [
      '/account/mfa/setup',
      '/account/mfa/confirm',
      '/account/mfa/recovery-codes',
      '/account/mfa/disable',
    ]) {
      r.get(path, { config: PAGE, schema: { hide: true } }, async (_request, reply) =>
        reply.redirect(BACK_TO_ACCOUNT, 302),
      );
    }

    r.post(
      '/account/mfa/setup',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: CsrfForm } },
      async (request, reply) => {
        const current = await recentSession(sessions, request, reply);
        if (!current) return reply;
        const enrolment = await setupTotp(mfa, current.user);
        return sendPage(reply, render, 'mfa-setup', {
          title: 'Set up two-step verification',
          signedIn: true,
          csrf: forms.token(request, reply),
          secret: enrolment.secret,
          qrBase64: Buffer.from(enrolment.qrSvg, 'utf8').toString('base64'),
        });
      },
    );

    r.post(
      '/account/mfa/confirm',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: CodeForm } },
      async (request, reply) => {
        const current = await recentSession(sessions, request, reply);
        if (!current) return reply;
        const codes = await confirmTotp(
          mfa,
          request.log,
          actorOf(current, request.ip),
          request.body.code,
        );
        return showCodes(reply, 'Two-step verification is on', codes);
      },
    );

    r.post(
      '/account/mfa/recovery-codes',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: CodeForm } },
      async (request, reply) => {
        const current = await recentSession(sessions, request, reply);
        if (!current) return reply;
        const codes = await regenerateRecoveryCodes(
          mfa,
          request.log,
          actorOf(current, request.ip),
          request.body.code,
        );
        return showCodes(reply, 'Your new recovery codes', codes);
      },
    );

    r.post(
      '/account/mfa/disable',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: CodeForm } },
      async (request, reply) => {
        const current = await recentSession(sessions, request, reply);
        if (!current) return reply;
        await removeTotp(mfa, request.log, actorOf(current, request.ip), request.body.code);
        // As DELETE /auth/mfa/totp: tokens that passed MFA stop working at once, this one's too.
        await endUserSessions(sessions, current.user.id);
        clearSessionCookies(reply, secure);
        return reply.header('clear-site-data', '"storage"').redirect('/login', 303);
      },
    );
  };
}
