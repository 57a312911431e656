/** `GET /.well-known/jwks.json`: public members of every published key, cacheable briefly. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { KeyRing } from './keyring.js';

const Jwks = z.object({
  keys: z.array(
    z.object({
      kid: z.string(),
      kty: z.string(),
      alg: z.string(),
      use: z.literal('sig'),
      crv: z.string().optional(),
      x: z.string().optional(),
      y: z.string().optional(),
      n: z.string().optional(),
      e: z.string().optional(),
    }),
  ),
});

/** Short enough that a new key (published 6 minutes before it signs) is always fetched in time. */
export const JWKS_MAX_AGE_SECONDS = 300;

export function jwksRoutes(ring: KeyRing) {
  return async (app: FastifyInstance) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/.well-known/jwks.json',
      {
        config: { access: 'public' },
        schema: { tags: ['service'], response: { 200: Jwks } },
      },
      async (_request, reply) => {
        reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
        return ring.jwks() as z.infer<typeof Jwks>;
      },
    );
  };
}
