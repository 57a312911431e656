/**
 * The caller's own account (issue 19): `PATCH /users/me` (display name), `GET /users/me/export`
 * (everything stored about them) and `DELETE /users/me`. Export and delete need a recent login:
 * a stolen access token older than 5 minutes can do neither.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../access/policy.js';
import { requireRecentAuth } from '../access/recent-auth.js';
import { toSelfView, UserSelfView } from '../auth/accounts/accounts.schemas.js';
import { exportAccount } from './account-export.js';
import { AccountExport, ProfilePatch } from './me.schemas.js';
import { type Caller, deleteOwnAccount, type MeDeps, updateProfile } from './me.service.js';

function callerOf(request: FastifyRequest): Caller {
  return { userId: principalOf(request).userId, ip: request.ip, log: request.log };
}

export function meRoutes(deps: MeDeps) {
  const recentAuth = requireRecentAuth(deps.sessions.clock);
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['users'];
    const security = [{ bearer: [] }];
    const config = { access: 'authenticated' as const };

    r.patch(
      '/users/me',
      {
        config,
        schema: {
          tags,
          security,
          description:
            'Sets the display name, validated as at register (1 to 100 visible characters, ' +
            'no control characters: 400 `validation_failed`). Answers the self view.',
          body: ProfilePatch,
          response: { 200: UserSelfView },
        },
      },
      async (request) => toSelfView(await updateProfile(deps, callerOf(request), request.body)),
    );

    r.get(
      '/users/me/export',
      {
        config,
        preHandler: [recentAuth],
        schema: {
          tags,
          security,
          description:
            'Everything stored about the caller, as JSON. Needs a recent login (401 ' +
            '`reauthentication_required`). Never password hashes, secrets, tokens or their ' +
            'hashes, nor another user’s personal data.',
          response: { 200: AccountExport },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        reply.header('cache-control', 'no-store');
        return exportAccount(
          deps.sessions.db,
          principal.userId,
          principal.sessionId,
          deps.sessions.config.currency,
          new Date(deps.sessions.clock.now()),
        );
      },
    );

    r.delete(
      '/users/me',
      {
        config,
        preHandler: [recentAuth],
        schema: {
          tags,
          security,
          description:
            'Deletes the account like the admin delete: a tombstone, personal data erased, ' +
            'every session (and its access tokens) ended at once, a confirmation mail to the ' +
            'old address. Orders and the wallet ledger stay for accounting. Needs a recent ' +
            'login (401 `reauthentication_required`).',
        },
      },
      async (request, reply) => {
        await deleteOwnAccount(deps, callerOf(request));
        return reply.code(204).send();
      },
    );
  };
}
