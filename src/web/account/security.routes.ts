/**
 * `/account` security forms (issue 15), each on the service its API route uses:
 * - change password (`POST /auth/password/change`: the policy first, the `code` when MFA is on,
 *   the current password inside the login throttle; the other sessions end);
 * - revoke one session (`DELETE /auth/sessions/:id`: scoped to the caller, another user's session
 *   is a 404) and log out everywhere (`POST /auth/logout-all`);
 * - delete the account (`DELETE /users/me`: a sign-in within 5 minutes, plus the confirmation
 *   box and the password), then `/login` with a notice.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { wrongCurrentPassword } from '../../auth/accounts/accounts.errors.js';
import { ChangePasswordBody } from '../../auth/accounts/accounts.schemas.js';
import { changePassword, checkCurrentPassword } from '../../auth/accounts/password-change.js';
import { PasswordField } from '../../auth/passwords/password-field.js';
import { clearSessionCookies } from '../../auth/sessions/cookies.js';
import { SessionParams } from '../../auth/sessions/sessions.schemas.js';
import { endSession, endUserSessions } from '../../auth/sessions/sessions.service.js';
import { findOwnLiveSession } from '../../auth/sessions/sessions.store.js';
import { type AccountAction, auditAccountChange } from '../../platform/audit/account-audit.js';
import { platformError } from '../../platform/errors.js';
import { deleteOwnAccount } from '../../users/me.service.js';
import { pageSession } from '../page-session.js';
import { loginUrl } from '../return-to.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { BACK_TO_ACCOUNT } from './account-notices.js';
import { meDepsOf } from './profile.routes.js';
import { recentSession } from './recent-session.js';

const csrf = { _csrf: z.string().max(200) };
/** An empty `code` field (no MFA, or left blank) is no code, as when the API body omits it. */
const PasswordForm = ChangePasswordBody.extend({
  ...csrf,
  code: z.preprocess((v) => (v === '' ? undefined : v), ChangePasswordBody.shape.code),
});
const CsrfForm = z.strictObject(csrf);
const DeleteForm = z.strictObject({
  ...csrf,
  /** The checkbox: unticked, the browser sends nothing and the form is refused. */
  confirm: z.literal('yes', { error: 'tick the box to confirm' }),
  /** Absent only for an account without a password (it signs in through a provider). */
  password: PasswordField.optional(),
});

/** As the API's logout routes: storage only, the session cookies go by name. */
const CLEAR_SITE_DATA = '"storage"';

export function securityPages(deps: WebDeps) {
  const { login, forms } = deps;
  const { sessions, accounts, abuse, mfa } = login;
  const secure = sessions.config.secureCookies;
  const me = meDepsOf(deps);
  const passwordDeps = { accounts, throttle: abuse.throttle, mfa: mfa.deps };
  const audit = (
    request: FastifyRequest,
    userId: string,
    action: AccountAction,
    detail?: Record<string, unknown>,
  ) =>
    auditAccountChange(accounts.audit, accounts.db, accounts.clock, request.log, {
      userId,
      action,
      ip: request.ip,
      ...(detail ? { detail } : {}),
    });
  const signedOut = (reply: FastifyReply, to: string) => {
    clearSessionCookies(reply, secure);
    return reply.header('clear-site-data', CLEAR_SITE_DATA).redirect(to, 303);
  };

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    for (const path of [
      '/account/password',
      '/account/sessions/:id/revoke',
      '/account/logout-all',
      '/account/delete',
    ]) {
      r.get(path, { config: PAGE, schema: { hide: true } }, async (_request, reply) =>
        reply.redirect(BACK_TO_ACCOUNT, 302),
      );
    }

    r.post(
      '/account/password',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: PasswordForm } },
      async (request, reply) => {
        const current = await pageSession(sessions, request);
        if (!current) return reply.redirect(loginUrl('/account'), 303);
        const { currentPassword, newPassword, code } = request.body;
        await changePassword(
          passwordDeps,
          request.log,
          { userId: current.user.id, ip: request.ip },
          { currentPassword, newPassword, code },
        );
        await endUserSessions(sessions, current.user.id, current.sessionId);
        await audit(request, current.user.id, 'account.password_changed');
        return reply.redirect('/account?done=password', 303);
      },
    );

    r.post(
      '/account/sessions/:id/revoke',
      {
        config: PAGE,
        preValidation: [forms.check],
        schema: { hide: true, params: SessionParams, body: CsrfForm },
      },
      async (request, reply) => {
        const current = await pageSession(sessions, request);
        if (!current) return reply.redirect(loginUrl('/account'), 303);
        // Scoped to the caller: another user's session is indistinguishable from none.
        const session = await findOwnLiveSession(sessions.db, current.user.id, request.params.id);
        if (!session) throw platformError('not_found');
        await endSession(sessions, session.id);
        if (session.id === current.sessionId) return signedOut(reply, '/login');
        return reply.redirect('/account?done=session_revoked', 303);
      },
    );

    r.post(
      '/account/logout-all',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: CsrfForm } },
      async (request, reply) => {
        const current = await pageSession(sessions, request);
        if (!current) return signedOut(reply, '/login');
        const ended = await endUserSessions(sessions, current.user.id);
        await audit(request, current.user.id, 'account.sessions_revoked', {
          sessions: ended.length,
        });
        return signedOut(reply, '/login');
      },
    );

    r.post(
      '/account/delete',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: DeleteForm } },
      async (request, reply) => {
        const current = await recentSession(sessions, request, reply);
        if (!current) return reply;
        // An account with a password confirms with it (inside the login throttle); one that
        // only signs in through a provider has the recent sign-in and the box.
        if (current.user.password_hash !== null) {
          const valid = await checkCurrentPassword(
            passwordDeps,
            request.log,
            current.user,
            request.ip,
            request.body.password ?? '',
          );
          if (!valid) throw wrongCurrentPassword();
        }
        await deleteOwnAccount(me, { userId: current.user.id, ip: request.ip, log: request.log });
        return signedOut(reply, '/login?notice=account_deleted');
      },
    );
  };
}
