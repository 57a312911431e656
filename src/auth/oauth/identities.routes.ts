/** The caller's linked social identities: list, and unlink (never the last way to sign in). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import { requireRecentAuth } from '../../access/recent-auth.js';
import { auditAccountChange } from '../../platform/audit/account-audit.js';
import { platformError } from '../../platform/errors.js';
import { countPasskeys } from '../passkeys/passkeys.store.js';
import { safeReturnTo } from './flow-cookie.js';
import { countIdentities, deleteIdentity, listIdentities } from './identities.store.js';
import { issueLinkGrant, linkStartPath } from './link-grant.js';
import { oauthError } from './oauth.errors.js';
import type { OAuthDeps } from './oauth.routes.js';
import {
  IdentityListQuery,
  IdentityPage,
  IdentityParams,
  LinkAnswer,
  LinkBody,
  toIdentityView,
} from './oauth.schemas.js';

type IdentityDeps = Pick<
  OAuthDeps,
  'db' | 'clock' | 'events' | 'audit' | 'state' | 'providers' | 'config'
>;

/**
 * Unlinks one of `userId`'s identities: 404 for another user's id, 409 `last_sign_in_method`
 * when it is the last way in (no password, no other identity, no passkey); audited, a security
 * event.
 */
export async function unlinkIdentity(
  deps: Pick<OAuthDeps, 'db' | 'clock' | 'events' | 'audit'>,
  request: FastifyRequest,
  userId: string,
  id: string,
): Promise<void> {
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
    const passkeys = await countPasskeys(trx, userId);
    if (user.password_hash === null && others === 0 && passkeys === 0) {
      throw oauthError('last_sign_in_method');
    }
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
}

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

    r.post(
      '/auth/identities/link',
      {
        config: { access: 'authenticated' },
        preHandler: [requireRecentAuth(deps.clock)],
        schema: {
          tags,
          security,
          description:
            'Starts linking a provider to the caller (recent login): answers the start URL with ' +
            'a single-use grant valid 2 minutes. The grant works only in the browser that holds ' +
            "this session's refresh cookie; the callback then links the provider's identity and " +
            'continues to `returnTo` (default `/account`). Refusals land on ' +
            '`/account?error=<code>`: `oauth_link_invalid`, `oauth_identity_in_use` (linked to ' +
            'another account), `oauth_account_exists` (this account already has an identity at ' +
            'that issuer). An unconfigured provider is 404.',
          body: LinkBody,
          response: { 200: LinkAnswer },
        },
      },
      async (request) => {
        const { userId, sessionId } = principalOf(request);
        const { provider, returnTo } = request.body;
        if (!deps.providers.has(provider)) throw platformError('not_found');
        const grant = await issueLinkGrant(deps.state, { userId, sessionId, provider });
        return {
          url: `${deps.config.publicUrl}${linkStartPath(provider, grant, safeReturnTo(returnTo))}`,
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
            'the last way to sign in (no password, no other identity, no passkey): 409 ' +
            '`last_sign_in_method`.',
          params: IdentityParams,
        },
      },
      async (request, reply) => {
        const { userId } = principalOf(request);
        await unlinkIdentity(deps, request, userId, request.params.id);
        return reply.code(204).send();
      },
    );
  };
}
