/**
 * The administrator support tools (DESIGN.md "Account lifecycle", issue 19): invitations, MFA
 * reset, required password reset, resent verification; and the public accept of an invitation,
 * whose mailed token is the credential.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import { requireRecentAuth } from '../../access/recent-auth.js';
import { toSelfView, UserEnvelope, UserSelfView } from '../../auth/accounts/accounts.schemas.js';
import { perIp, type RateLimits } from '../../platform/rate-limit/rate-limits.js';
import {
  recordAdminAction,
  requirePasswordReset,
  resendVerification,
  resetUserMfa,
  type SupportDeps,
} from './admin-recovery.service.js';
import {
  AcceptInvitationBody,
  InviteBody,
  ResendAccepted,
  ResetMfaBody,
} from './admin-support.schemas.js';
import { UserParams } from './admin-users.schemas.js';
import type { Actor } from './admin-users.service.js';
import { acceptInvitation, inviteUser } from './invitations.service.js';

function actorOf(request: FastifyRequest): Actor {
  return { principal: principalOf(request), ip: request.ip, log: request.log };
}

export function adminSupportRoutes(deps: SupportDeps & { readonly limits: RateLimits }) {
  const recentAuth = requireRecentAuth(deps.sessions.clock);
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const config = { access: { roles: ['admin'] as const } };
    const tags = ['admin'];
    const security = [{ bearer: [] }];

    r.post(
      '/admin/users',
      {
        config,
        preHandler: [recentAuth],
        schema: {
          tags,
          security,
          description:
            'Creates an unverified account without a password and mails ' +
            '`<LINK_BASE_URL>/accept-invite?token=…` (single use, valid 7 days); the invitee ' +
            'chooses the password with POST /auth/invitations/accept. An address that already ' +
            'has an account: 409 `email_taken`. Needs a recent login (401 ' +
            '`reauthentication_required`).',
          body: InviteBody,
          response: { 201: UserSelfView },
        },
      },
      async (request, reply) => {
        const actor = actorOf(request);
        const user = await inviteUser(deps.accounts, actor, request.body);
        await recordAdminAction(deps, actor, user.id, 'admin.user.invited');
        return reply.code(201).header('location', `/users/${user.id}`).send(toSelfView(user));
      },
    );

    r.post(
      '/admin/users/:id/reset-mfa',
      {
        config,
        preHandler: [recentAuth],
        schema: {
          tags,
          security,
          description:
            "Removes the user's TOTP and recovery codes, ends their sessions and mails them; the " +
            '`reason` goes into the audit entry. Only an administrator whose own account has a ' +
            'second factor may (403 `mfa_enrollment_required`); their own account: 409 ' +
            '`cannot_modify_self`. Needs a recent login.',
          params: UserParams,
          body: ResetMfaBody,
        },
      },
      async (request, reply) => {
        await resetUserMfa(deps, actorOf(request), request.params.id, request.body.reason);
        return reply.code(204).send();
      },
    );

    r.post(
      '/admin/users/:id/require-password-reset',
      {
        config,
        preHandler: [recentAuth],
        schema: {
          tags,
          security,
          description:
            'Ends every session of the user; their next login with the right password answers ' +
            '403 `password_reset_required` and mails a reset link; a completed reset lifts it. ' +
            'Their own account: 409 `cannot_modify_self`. Needs a recent login.',
          params: UserParams,
        },
      },
      async (request, reply) => {
        await requirePasswordReset(deps, actorOf(request), request.params.id);
        return reply.code(204).send();
      },
    );

    r.post(
      '/admin/users/:id/resend-verification',
      {
        config,
        schema: {
          tags,
          security,
          description:
            'Mails a fresh verification link to an unverified account (a fresh invitation to an ' +
            'invited one without a password); a verified or locked account gets nothing. 202 ' +
            'either way.',
          params: UserParams,
          response: { 202: ResendAccepted },
        },
      },
      async (request, reply) => {
        await resendVerification(deps, actorOf(request), request.params.id);
        return reply.code(202).send({ status: 'accepted' as const });
      },
    );

    r.post(
      '/auth/invitations/accept',
      {
        config: { access: 'public' },
        onRequest: [perIp(deps.limits.token)],
        schema: {
          tags: ['auth'],
          description:
            'Sets the password of the invited account the mailed token names and verifies its ' +
            'address. The password policy is that of register (400 `weak_password`; a refused ' +
            'password leaves the link usable). A used, expired (7 days), unknown or altered ' +
            'token, or an account that already has a password: 400 `invalid_token`.',
          body: AcceptInvitationBody,
          response: { 200: UserEnvelope },
        },
      },
      async (request) => {
        const user = await acceptInvitation(deps.accounts, request.ip, request.body);
        return { user: toSelfView(user) };
      },
    );
  };
}
