/** MFA management: TOTP setup and confirm, removal and recovery-code regeneration (step-up). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import { requireRecentAuth } from '../../access/recent-auth.js';
import { platformError } from '../../platform/errors.js';
import { findUserById } from '../accounts/accounts.store.js';
import { CodeBody, Enrolment, RecoveryCodes } from './mfa.schemas.js';
import {
  confirmTotp,
  type MfaActor,
  type MfaDeps,
  regenerateRecoveryCodes,
  removeTotp,
  setupTotp,
} from './mfa.service.js';

/**
 * `endSessions` ends every session of a user everywhere (sessions.service): removing MFA signs
 * every session out, the caller's too, because their access tokens say `amr: otp` and would keep
 * admin powers until they expire (issue 14). The next login is with the password alone.
 */
export function mfaRoutes(deps: MfaDeps, endSessions: (userId: string) => Promise<unknown>) {
  const recentAuth = requireRecentAuth(deps.clock);
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['mfa'];
    const security = [{ bearer: [] }];

    // Each change appends its audit entry in its own transaction (see mfa.service.ts).
    const caller = async (request: Parameters<typeof principalOf>[0]): Promise<MfaActor> => {
      const user = await findUserById(deps.db, principalOf(request).userId);
      if (!user) throw platformError('unauthorized');
      return { id: user.id, email: user.email, ip: request.ip };
    };

    r.post(
      '/auth/mfa/totp/setup',
      {
        config: { access: 'authenticated' },
        // Turning MFA on is an MFA change too (MFA-07, ASVS V7.5.1): without step-up, a stolen
        // session could enrol the thief's authenticator and lock the owner out.
        preHandler: [recentAuth],
        schema: { tags, security, response: { 200: Enrolment } },
      },
      async (request) => setupTotp(deps, await caller(request)),
    );

    r.post(
      '/auth/mfa/totp/confirm',
      {
        config: { access: 'authenticated' },
        preHandler: [recentAuth],
        schema: { tags, security, body: CodeBody, response: { 200: RecoveryCodes } },
      },
      async (request) => {
        const user = await caller(request);
        const recoveryCodes = await confirmTotp(deps, request.log, user, request.body.code);
        return { recoveryCodes };
      },
    );

    r.delete(
      '/auth/mfa/totp',
      {
        config: { access: 'authenticated' },
        preHandler: [recentAuth],
        schema: {
          tags,
          security,
          description:
            'Turns MFA off (recent login and a code required) and ends every session of the ' +
            'account, this one too: tokens that passed MFA stop working at once; log in again.',
          body: CodeBody,
        },
      },
      async (request, reply) => {
        const user = await caller(request);
        await removeTotp(deps, request.log, user, request.body.code);
        await endSessions(user.id);
        return reply.code(204).send();
      },
    );

    r.post(
      '/auth/mfa/recovery-codes',
      {
        config: { access: 'authenticated' },
        preHandler: [recentAuth],
        schema: { tags, security, body: CodeBody, response: { 200: RecoveryCodes } },
      },
      async (request) => {
        const user = await caller(request);
        const recoveryCodes = await regenerateRecoveryCodes(
          deps,
          request.log,
          user,
          request.body.code,
        );
        return { recoveryCodes };
      },
    );
  };
}
