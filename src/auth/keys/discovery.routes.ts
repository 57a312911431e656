/**
 * `GET /.well-known/openid-configuration` (issue 18): discovery for relying services, so
 * off-the-shelf JWT middlewares and gateways find the keys. Only what is true of Bastion: it is
 * not an OpenID Provider (no authorization or token endpoint, no ID tokens), it issues JWT access
 * tokens (RFC 9068, `typ: at+jwt`) that any service verifies against `jwks_uri`.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { JWKS_MAX_AGE_SECONDS } from './jwks.routes.js';
import type { KeyRing } from './keyring.js';

const Discovery = z.object({
  issuer: z.string(),
  jwks_uri: z.string(),
  id_token_signing_alg_values_supported: z.array(z.string()),
  access_token_signing_alg_values_supported: z.array(z.string()),
  revocation_feed_endpoint: z.string(),
});

/** The configured JWT_ALG first, then any other algorithm a still-published key verifies. */
export function discoveryDocument(config: Config, ring: KeyRing): z.infer<typeof Discovery> {
  const published = (ring.jwks() as { keys: { alg: string }[] }).keys.map((k) => k.alg);
  const algs = [...new Set<string>([config.jwt.alg, ...published])];
  return {
    issuer: config.jwt.issuer,
    jwks_uri: `${config.publicUrl}/.well-known/jwks.json`,
    // Required by OpenID Connect Discovery; Bastion issues no ID token, so it names the
    // algorithms of the tokens it does sign.
    id_token_signing_alg_values_supported: algs,
    access_token_signing_alg_values_supported: algs,
    revocation_feed_endpoint: `${config.publicUrl}/auth/revocations`,
  };
}

export function discoveryRoutes(config: Config, ring: KeyRing) {
  return async (app: FastifyInstance) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/.well-known/openid-configuration',
      {
        config: { access: 'public' },
        schema: {
          tags: ['service'],
          description:
            'Discovery for services that verify Bastion access tokens: `issuer` (the `iss` of every ' +
            'token), `jwks_uri`, and the signing algorithm (JWT_ALG). Bastion is not a full OpenID ' +
            'Provider: there is no authorization, token or userinfo endpoint and no ID token; the ' +
            'audiences (`aud`) are JWT_AUDIENCE. `revocation_feed_endpoint` is Bastion’s own ' +
            '(GET /auth/revocations, for SERVICE_TOKENS holders).',
          response: { 200: Discovery },
        },
      },
      async (_request, reply) => {
        reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
        return discoveryDocument(config, ring);
      },
    );
  };
}
