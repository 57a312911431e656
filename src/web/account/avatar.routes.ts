/**
 * The `/account` avatar form (issue 15): a `multipart/form-data` post of `_csrf` then the image in
 * `file` (the field `PUT /users/me/avatar` takes), through the API's pipeline: the same per-user
 * upload budget, decode queue, size limits and re-encoding (src/platform/media), and the same
 * avatar service. Multipart is parsed only in this route's own scope, with its own body limit:
 * every other page keeps the small form-body limit and answers a multipart post with 415.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sessionError } from '../../auth/sessions/sessions.errors.js';
import { platformError } from '../../platform/errors.js';
import type { DecodeQueue } from '../../platform/media/decode-queue.js';
import { MAX_UPLOAD_BYTES, toSafeWebp } from '../../platform/media/images.js';
import type { MediaStore } from '../../platform/media/media.store.js';
import { UPLOAD_BODY_LIMIT, uploadRoutes } from '../../platform/media/upload.js';
import type { Limiter } from '../../platform/rate-limit/limiters.js';
import { replaceAvatar } from '../../users/avatar.service.js';
import type { FormCsrf } from '../form-csrf.js';
import { pageSession } from '../page-session.js';
import { loginUrl } from '../return-to.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { BACK_TO_ACCOUNT } from './account-notices.js';

/** What the avatar form needs besides the pages' deps: the API's media store, queue and budget. */
export interface AvatarPageDeps {
  readonly media: MediaStore;
  readonly imageDecodes: DecodeQueue;
  /** Uploads per account, shared with `PUT /users/me/avatar`. */
  readonly uploadLimit: Limiter;
}

/** The API's limits, plus the one `_csrf` field that must come before the file. */
const PART_LIMITS = {
  fileSize: MAX_UPLOAD_BYTES,
  files: 1,
  fields: 1,
  fieldSize: 1024,
  parts: 2,
  headerPairs: 50,
};

function fileRequired() {
  return platformError('validation_failed', {
    errors: [{ path: 'body.file', message: 'Choose one image to upload' }],
  });
}

/** Runs the forms' CSRF check (a preValidation hook) on the token read from the first part. */
function checkCsrf(
  app: FastifyInstance,
  forms: FormCsrf,
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
): Promise<void> {
  request.body = { _csrf: token };
  return new Promise((resolve, reject) => {
    forms.check.call(app, request, reply, (err?: Error) => (err ? reject(err) : resolve()));
  });
}

export function avatarPages(deps: WebDeps, uploads: AvatarPageDeps) {
  const { login, forms } = deps;
  const { sessions } = login;
  const avatarDeps = { db: sessions.db, clock: sessions.clock, media: uploads.media };

  return async (app: FastifyInstance) => {
    app.get('/account/avatar', { config: PAGE, schema: { hide: true } }, async (_request, reply) =>
      reply.redirect(BACK_TO_ACCOUNT, 302),
    );

    await uploadRoutes(app, (scope) => {
      scope.post(
        '/account/avatar',
        { config: PAGE, bodyLimit: UPLOAD_BODY_LIMIT, schema: { hide: true } },
        async (request, reply) => {
          if (!request.isMultipart()) throw platformError('unsupported_media_type');
          let current: Awaited<ReturnType<typeof pageSession>> = null;
          let bytes: Buffer | undefined;
          // `_csrf` first (as the form orders it), checked before the file is read; then `file`.
          for await (const part of request.parts({ limits: PART_LIMITS })) {
            if (!current) {
              const token = part.type === 'field' && part.fieldname === '_csrf' ? part.value : '';
              await checkCsrf(scope, forms, request, reply, typeof token === 'string' ? token : '');
              current = await pageSession(sessions, request);
              if (!current) return reply.redirect(loginUrl('/account'), 303);
              await uploads.uploadLimit.consume(current.user.id);
              continue;
            }
            if (part.type !== 'file' || part.fieldname !== 'file' || bytes) throw fileRequired();
            // toBuffer() throws FST_REQ_FILE_TOO_LARGE (413) once the limit is crossed.
            bytes = await part.toBuffer();
          }
          if (!current) throw sessionError('csrf_failed');
          if (!bytes || bytes.length === 0) throw fileRequired();
          const webp = await toSafeWebp(bytes, uploads.imageDecodes);
          await replaceAvatar(avatarDeps, current.user.id, webp);
          return reply.redirect('/account?done=avatar', 303);
        },
      );
    });
  };
}
