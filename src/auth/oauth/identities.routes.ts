/** The caller's linked social identities: list, and unlink (never the last way to sign in). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import { requireRecentAuth } from '../../access/recent-auth.js';
import { auditAccountChange } from '../../platform/audit/account-audit.js';
import { platformError } from '../../platform/errors.js';
import { countIdentities, deleteIdentity, listIdentities } from './identities.store.js';
import { oauthError } from './oauth.errors.js';
import type { OAuthDeps } from './oauth.routes.js';
import {
  IdentityListQuery,
  IdentityPage,
  IdentityParams,
  toIdentityView,
} from './oauth.schemas.js';

type IdentityDeps = Pick<OAuthDeps, 'db' | 'clock' | 'events' | 'audit'>;

export function identityRoutes(deps: IdentityDeps) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['auth'];
    const security = [{ bearer: [] }];

    r.get(
      '/auth/identities',
      {
        config: { access: 'authenticated' },
        schema: {
          tags,
          security,
          description:
            'Own linked identities, oldest first; `email` as the provider last asserted it.',
          querystring: IdentityListQuery,
          response: { 200: IdentityPage },
        },
      },
      async (request) => {
        const { userId } = principalOf(request);
        const { cursor, limit } = request.query;
        const rows = await listIdentities(deps.db, userId, limit + 1, cursor);
        const page = rows.slice(0, limit);
        return {
          items: page.map(toIdentityView),
          nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
        };
      },
    );

    r.delete(
      '/auth/identities/:id',
      {
        config: { access: 'authenticated' },
        preHandler: [requireRecentAuth(deps.clock)],
        schema: {
          tags,
          security,
          description:
            "Unlinks one of the caller's identities (recent login). Another user's id: 404; " +
            'the last way to sign in (no password and no other identity): 409 `last_sign_in_method`.',
          params: IdentityParams,
        },
      },
      async (request, reply) => {
        const { userId } = principalOf(request);
        const { id } = request.params;
        await deps.db.transaction().execute(async (trx) => {
          // The account row is locked so two unlinks cannot each leave "the other" method.
          const user = await trx
            .selectFrom('users')
            .select(['id', 'password_hash'])
            .where('id', '=', userId)
            .forUpdate()
            .executeTakeFirst();
          const own = await trx
            .selectFrom('identities')
            .select('id')
            .where('id', '=', id)
            .where('user_id', '=', userId)
            .executeTakeFirst();
          if (!user || !own) throw platformError('not_found');
          const others = (await countIdentities(trx, userId)) - 1;
          if (user.password_hash === null && others === 0) throw oauthError('last_sign_in_method');
          await deleteIdentity(trx, userId, id);
        });
        const detail = { identityId: id };
        await auditAccountChange(deps.audit, deps.db, deps.clock, request.log, {
          userId,
          action: 'account.identity_unlinked',
          ip: request.ip,
          detail,
        });
        await deps.events.record(request.log, {
          type: 'identity_unlinked',
          userId,
          ip: request.ip,
          detail,
        });
        return reply.code(204).send();
      },
    );
  };
}
