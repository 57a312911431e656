/** `GET /media/<name>.webp`: public, re-encoded images only, sandboxed so they can never run. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { platformError } from '../errors.js';
import type { MediaStore } from './media.store.js';

const MediaParams = z.strictObject({ name: z.string().max(64) });

export function mediaRoutes(media: MediaStore) {
  return async (app: FastifyInstance) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/media/:name',
      {
        config: { access: 'public' },
        schema: { tags: ['media'], params: MediaParams, hide: true },
      },
      async (request, reply) => {
        const bytes = await media.read(request.params.name);
        if (!bytes) throw platformError('not_found');
        return (
          reply
            .type('image/webp')
            .header('content-security-policy', 'sandbox')
            .header('x-content-type-options', 'nosniff')
            .header('cross-origin-resource-policy', 'same-site')
            // Names are random and never reused: the bytes behind one never change.
            .header('cache-control', 'public, max-age=31536000, immutable')
            .send(bytes)
        );
      },
    );
  };
}
