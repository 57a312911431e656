/**
 * The email-change routes (issue 19): the request (bearer + recent login + the password), and the
 * confirm and revert links, public routes whose credential is the mailed token.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../access/policy.js';
import { requireRecentAuth } from '../../access/recent-auth.js';
import { perIp } from '../../platform/rate-limit/rate-limits.js';
import { PasswordField } from '../passwords/password-field.js';
import { endUserSessions } from '../sessions/sessions.service.js';
import { TokenBody, toSelfView, UserEnvelope } from './accounts.schemas.js';
import {
  confirmEmailChange,
  type EmailChangeDeps,
  requestEmailChange,
  revertEmailChange,
} from './email-change.js';
import type { LoginDeps } from './login-flow.js';

export const EmailChangeBody = z.strictObject({
  newEmail: z.string().min(3).max(320),
  password: PasswordField,
});
export const EmailChangeAccepted = z.object({ status: z.literal('confirmation_sent') });

/** The deps the email change shares with the login flow (the same throttle and limits). */
export function emailChangeDeps(login: Pick<LoginDeps, 'accounts' | 'abuse'>): EmailChangeDeps {
  return {
    accounts: login.accounts,
    throttle: login.abuse.throttle,
    addressMails: login.abuse.limits.registerMails,
  };
}

export function emailChangeRoutes(login: Pick<LoginDeps, 'accounts' | 'sessions' | 'abuse'>) {
  const deps = emailChangeDeps(login);
  const { sessions } = login;
  const tokenLimit = perIp(login.abuse.limits.token);
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['auth'];

    r.post(
      '/auth/email/change',
      {
        config: { access: 'authenticated' },
        preHandler: [requireRecentAuth(login.accounts.clock)],
        schema: {
          tags,
          security: [{ bearer: [] }],
          description:
            'Recent login (else 401 `reauthentication_required`) and the current `password` ' +
            '(wrong: 401 `invalid_credentials`, counted in the login throttle of the account and ' +
            'address; 429 `rate_limited` past it). Mails `LINK_BASE_URL` + `/confirm-email?token=…` ' +
            'to `newEmail`; nothing changes until POST /auth/email/confirm. An address another ' +
            'account holds answers the same 202 and its owner is told instead. An address ' +
            'register would refuse, or the current one: 400 `validation_failed`.',
          body: EmailChangeBody,
          response: { 202: EmailChangeAccepted },
        },
      },
      async (request, reply) => {
        const { userId, sessionId } = principalOf(request);
        await requestEmailChange(
          deps,
          request.log,
          { userId, sessionId, ip: request.ip },
          request.body,
        );
        return reply.code(202).send({ status: 'confirmation_sent' as const });
      },
    );

    r.post(
      '/auth/email/confirm',
      {
        config: { access: 'public' },
        onRequest: [tokenLimit],
        schema: {
          tags,
          description:
            'The token of the mailed confirm link. The account moves to the new address ' +
            '(verified), every session but the one that asked ends, and the old address is ' +
            'mailed `LINK_BASE_URL` + `/revert-email?token=…` (7 days). Used, expired, unknown or ' +
            'replaced token, or the address taken meanwhile: 400 `invalid_token`.',
          body: TokenBody,
          response: { 200: UserEnvelope },
        },
      },
      async (request) => {
        const { user, keepSessionId } = await confirmEmailChange(deps, request.log, {
          token: request.body.token,
          ip: request.ip,
        });
        await endUserSessions(sessions, user.id, keepSessionId ?? undefined);
        return { user: toSelfView(user) };
      },
    );

    r.post(
      '/auth/email/revert',
      {
        config: { access: 'public' },
        onRequest: [tokenLimit],
        schema: {
          tags,
          description:
            'The token of the revert link mailed to the old address (valid 7 days): the old ' +
            'address is back, every session ends, password sign-in is blocked until a reset ' +
            'and a reset link is mailed to the old address. Used, expired or unknown token, ' +
            'or the old address taken meanwhile: 400 `invalid_token`.',
          body: TokenBody,
        },
      },
      async (request, reply) => {
        const userId = await revertEmailChange(deps, request.log, {
          token: request.body.token,
          ip: request.ip,
        });
        await endUserSessions(sessions, userId);
        return reply.code(204).send();
      },
    );
  };
}
