/** Reads the one image a multipart upload may carry (field `file`) into memory, with limits. */
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { platformError } from '../errors.js';
import { MAX_UPLOAD_BYTES, toSafeWebp } from './images.js';
import { uploadError } from './uploads.errors.js';

/** Route options for an upload route: a body limit that fits the file and its multipart framing. */
export const UPLOAD_BODY_LIMIT = MAX_UPLOAD_BYTES + 64 * 1024;

/** One file of at most 5 MiB, no text fields, no other parts. */
const PART_LIMITS = { fileSize: MAX_UPLOAD_BYTES, files: 1, fields: 0, parts: 1, headerPairs: 50 };

/**
 * Registers the routes that take an upload in a scope of their own: only there is multipart
 * parsed (elsewhere a multipart body is 415), and only there run @fastify/multipart's two
 * per-request hooks (an async onRequest adding a 'close' listener, an async onResponse), which
 * every other request would otherwise pay for.
 */
export async function uploadRoutes(
  app: FastifyInstance,
  routes: (scope: FastifyInstance) => void,
): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(multipart, { limits: PART_LIMITS });
    routes(scope);
  });
}

/**
 * Returns the upload's re-encoded WebP bytes. Not multipart: 415; another field, a second file or
 * any text field: 400/413; over 5 MiB: 413 (the stream is cut there, never buffered past it).
 */
export async function readImageUpload(request: FastifyRequest): Promise<Buffer> {
  if (!request.isMultipart()) throw platformError('unsupported_media_type');
  let bytes: Buffer | undefined;
  // Every part is read, so a second file or a text field is refused rather than ignored; the
  // limits make busboy raise 413 on the first part past them.
  const parts = request.parts({ limits: PART_LIMITS });
  for await (const part of parts) {
    if (part.type !== 'file' || part.fieldname !== 'file' || bytes) {
      throw uploadError('file_required');
    }
    // toBuffer() throws FST_REQ_FILE_TOO_LARGE (413) once the limit is crossed.
    bytes = await part.toBuffer();
  }
  if (!bytes) throw uploadError('file_required');
  return toSafeWebp(bytes);
}
