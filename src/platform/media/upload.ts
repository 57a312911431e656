/** Reads the one image a multipart upload may carry (field `file`) into memory, with limits. */
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { platformError } from '../errors.js';
import type { DecodeQueue } from './decode-queue.js';
import { MAX_UPLOAD_BYTES, toSafeWebp } from './images.js';

/** Route options for an upload route: a body limit that fits the file and its multipart framing. */
export const UPLOAD_BODY_LIMIT = MAX_UPLOAD_BYTES + 64 * 1024;

/**
 * One file of at most 5 MiB and no other part. One short text field is let through the parser
 * only so that a form carrying text instead of the file is refused as a 400 naming the missing
 * `file` (a `fields: 0` limit makes busboy raise 413); the reader refuses it on sight.
 */
const PART_LIMITS = {
  fileSize: MAX_UPLOAD_BYTES,
  files: 1,
  fields: 1,
  fieldSize: 1024,
  parts: 1,
  headerPairs: 50,
};

/** The form has no image in the field `file` (or something else instead): 400, naming it. */
function fileRequired() {
  return platformError('validation_failed', {
    errors: [{ path: 'body.file', message: 'Send one image as the multipart file field "file"' }],
  });
}

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
 * Returns the upload's re-encoded WebP bytes. Not multipart: 415; no file in `file`, or a text
 * field or a file under another name instead: 400 `validation_failed` naming `body.file`; a second
 * part: 413; over 5 MiB: 413 (the stream is cut there, never buffered past it); decode queue
 * full: 503 `overloaded`.
 */
export async function readImageUpload(
  request: FastifyRequest,
  decodes: DecodeQueue,
): Promise<Buffer> {
  if (!request.isMultipart()) throw platformError('unsupported_media_type');
  let bytes: Buffer | undefined;
  // Every part is read, so a second file or a text field is refused rather than ignored; the
  // limits make busboy raise 413 on the first part past them.
  const parts = request.parts({ limits: PART_LIMITS });
  for await (const part of parts) {
    if (part.type !== 'file' || part.fieldname !== 'file' || bytes) {
      throw fileRequired();
    }
    // toBuffer() throws FST_REQ_FILE_TOO_LARGE (413) once the limit is crossed.
    bytes = await part.toBuffer();
  }
  if (!bytes) throw fileRequired();
  return toSafeWebp(bytes, decodes);
}
