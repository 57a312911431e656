/**
 * Passkeys on `/account` (issue 15), on the API's passkey service. Adding one needs WebAuthn, so
 * the page's script calls two JSON routes here; they are authorized like the page's forms (this
 * browser's session, `_csrf` in the body, a sign-in within 5 minutes) and answer problem+json
 * with the API's codes. Renaming and removing are plain forms.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { reauthenticationRequired } from '../../access/recent-auth.js';
import {
  PasskeyName,
  PasskeyParams,
  RegisterVerifyBody,
} from '../../auth/passkeys/passkeys.schemas.js';
import type { PasskeyService } from '../../auth/passkeys/passkeys.service.js';
import { renamePasskey } from '../../auth/passkeys/passkeys.store.js';
import { AppError, platformError } from '../../platform/errors.js';
import { CsrfOnlyForm } from '../auth/forms.schemas.js';
import { pageSession } from '../page-session.js';
import { loginUrl } from '../return-to.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { recentSession, signedInRecently } from './recent-session.js';

const RenameForm = CsrfOnlyForm.extend({ name: PasskeyName });
const AddBody = RegisterVerifyBody.extend({ _csrf: z.string().max(200) });

/** The JSON routes the "Add a passkey" script calls: problem+json, not pages. */
export function passkeyPageApi(deps: WebDeps, passkeys: PasskeyService) {
  const { login, forms } = deps;
  const { sessions } = login;

  /** This browser's user, signed in within 5 minutes, or the API's refusal. */
  async function recentUser(request: Parameters<typeof pageSession>[1]) {
    const current = await pageSession(sessions, request);
    if (!current) throw platformError('unauthorized');
    if (!(await signedInRecently(sessions, current))) {
      throw reauthenticationRequired('page');
    }
    return passkeys.liveUser(current.user.id);
  }

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const config = { access: 'public' } as const;

    r.post(
      '/account/passkeys/options',
      { config, preValidation: [forms.check], schema: { hide: true, body: CsrfOnlyForm } },
      async (request) => {
        const user = await recentUser(request);
        return { ...(await passkeys.registrationOptions(user)) };
      },
    );

    r.post(
      '/account/passkeys',
      { config, preValidation: [forms.check], schema: { hide: true, body: AddBody } },
      async (request, reply) => {
        const user = await recentUser(request);
        const { response, name } = request.body;
        const row = await passkeys.register(request, user, { response, name });
        return reply.code(201).send({ id: row.id, name: row.name });
      },
    );
  };
}

/** Rename and remove: forms that work without JavaScript. */
export function passkeyPages(deps: WebDeps, passkeys: PasskeyService) {
  const { login, forms } = deps;
  const { sessions } = login;
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/account/passkeys/:id/rename',
      {
        config: PAGE,
        preValidation: [forms.check],
        schema: { hide: true, params: PasskeyParams, body: RenameForm },
      },
      async (request, reply) => {
        const current = await pageSession(sessions, request);
        if (!current) return reply.redirect(loginUrl('/account'), 303);
        const row = await renamePasskey(
          sessions.db,
          current.user.id,
          request.params.id,
          request.body.name,
        );
        if (!row) throw platformError('not_found');
        return reply.redirect('/account?done=passkey_renamed', 303);
      },
    );

    r.post(
      '/account/passkeys/:id/remove',
      {
        config: PAGE,
        preValidation: [forms.check],
        schema: { hide: true, params: PasskeyParams, body: CsrfOnlyForm },
      },
      async (request, reply) => {
        const current = await recentSession(sessions, request, reply);
        if (!current) return reply;
        try {
          await passkeys.remove(request, current.user, request.params.id);
        } catch (err) {
          // The last way in stays, and the account page says why.
          if (err instanceof AppError && err.code === 'last_sign_in_method') {
            return reply.redirect('/account?error=last_sign_in_method', 303);
          }
          throw err;
        }
        return reply.redirect('/account?done=passkey_removed', 303);
      },
    );
  };
}
