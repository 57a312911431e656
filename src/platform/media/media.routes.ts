/**
 * `GET /media/<name>.webp`: public, re-encoded images only, sandboxed so they can never run.
 * Every instance answers from the shared store with the same headers: the stored content type,
 * a strong ETag (SHA-256 of the bytes) and a year of immutable caching. A conditional request
 * whose `If-None-Match` names that tag is answered 304 from the row's tag alone, without
 * reading the bytes.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { platformError } from '../errors.js';
import type { MediaInfo, MediaStore } from './media.store.js';

const MediaParams = z.strictObject({ name: z.string().max(64) });

/** RFC 9110 §13.1.2: `*`, or a list of tags compared weakly (a `W/` prefix does not matter). */
export function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function cacheHeaders(reply: FastifyReply, info: MediaInfo): FastifyReply {
  return (
    reply
      .header('etag', info.etag)
      .header('content-security-policy', 'sandbox')
      .header('x-content-type-options', 'nosniff')
      .header('cross-origin-resource-policy', 'same-site')
      // Names are random and never reused: the bytes behind one never change.
      .header('cache-control', 'public, max-age=31536000, immutable')
  );
}

export function mediaRoutes(media: MediaStore) {
  return async (app: FastifyInstance) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/media/:name',
      {
        config: { access: 'public' },
        schema: { tags: ['media'], params: MediaParams, hide: true },
      },
      async (request, reply) => {
        const { name } = request.params;
        const condition = request.headers['if-none-match'];
        if (condition) {
          const info = await media.info(name);
          if (!info) throw platformError('not_found');
          if (noneMatch(condition, info.etag)) return cacheHeaders(reply, info).code(304).send();
        }
        const object = await media.read(name);
        if (!object) throw platformError('not_found');
        return cacheHeaders(reply, object).type(object.contentType).send(object.bytes);
      },
    );
  };
}
