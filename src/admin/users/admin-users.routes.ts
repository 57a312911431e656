/** The admin API for accounts (DESIGN.md, Users and admin). Every route: admin with MFA. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import { requireRecentAuth } from '../../access/recent-auth.js';
import { toSelfView, UserSelfView } from '../../auth/accounts/accounts.schemas.js';
import { identitiesOfUsers } from '../../auth/oauth/identities.store.js';
import { AdminUserPatch, UserPage, UserParams, UserSearchQuery } from './admin-users.schemas.js';
import {
  type Actor,
  type AdminDeps,
  deleteUser,
  forceLogout,
  patchUser,
} from './admin-users.service.js';
import { searchUsers } from './admin-users.store.js';

function actorOf(request: FastifyRequest): Actor {
  return { principal: principalOf(request), ip: request.ip, log: request.log };
}

export function adminUserRoutes(deps: AdminDeps) {
  const recentAuth = requireRecentAuth(deps.sessions.clock);
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const config = { access: { roles: ['admin'] as const } };
    const tags = ['admin'];
    const security = [{ bearer: [] }];

    r.get(
      '/admin/users',
      {
        config,
        schema: { tags, security, querystring: UserSearchQuery, response: { 200: UserPage } },
      },
      async (request) => {
        const { query, cursor, limit } = request.query;
        const rows = await searchUsers(deps.sessions.db, query, cursor, limit + 1);
        const page = rows.slice(0, limit);
        const identities = await identitiesOfUsers(
          deps.sessions.db,
          page.map((u) => u.id),
        );
        return {
          items: page.map((u) => ({
            ...toSelfView(u),
            identities: (identities.get(u.id) ?? []).map((i) => ({
              provider: i.provider,
              email: i.email,
              createdAt: new Date(i.created_at).toISOString(),
              lastLoginAt: new Date(i.last_login_at).toISOString(),
            })),
          })),
          nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
        };
      },
    );

    r.patch(
      '/admin/users/:id',
      {
        config,
        preHandler: [recentAuth],
        schema: {
          tags,
          security,
          params: UserParams,
          body: AdminUserPatch,
          response: { 200: UserSelfView },
        },
      },
      async (request) =>
        toSelfView(await patchUser(deps, actorOf(request), request.params.id, request.body)),
    );

    r.delete(
      '/admin/users/:id',
      { config, preHandler: [recentAuth], schema: { tags, security, params: UserParams } },
      async (request, reply) => {
        await deleteUser(deps, actorOf(request), request.params.id);
        return reply.code(204).send();
      },
    );

    r.post(
      '/admin/users/:id/logout-all',
      { config, schema: { tags, security, params: UserParams } },
      async (request, reply) => {
        await forceLogout(deps, actorOf(request), request.params.id);
        return reply.code(204).send();
      },
    );
  };
}
