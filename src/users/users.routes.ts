/**
 * `GET /users/:id` (the view is chosen by policy: self and admins with MFA get the full view,
 * everyone else the public one) and `PUT /users/me/avatar` (the shared image pipeline).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../access/policy.js';
import { canSeeFullProfile } from '../access/profile-view.js';
import { toSelfView, UserSelfView } from '../auth/accounts/accounts.schemas.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import { platformError } from '../platform/errors.js';
import type { DecodeQueue } from '../platform/media/decode-queue.js';
import type { MediaStore } from '../platform/media/media.store.js';
import { readImageUpload, UPLOAD_BODY_LIMIT, uploadRoutes } from '../platform/media/upload.js';
import type { Limiter } from '../platform/rate-limit/limiters.js';
import { perUser } from '../platform/rate-limit/rate-limits.js';
import { replaceAvatar } from './avatar.service.js';
import { toPublicView, UserIdParams, UserPublicView, UserView } from './users.schemas.js';

export interface UserDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly media: MediaStore;
  readonly imageDecodes: DecodeQueue;
  /** Uploads per account: each one is a decode and a re-encode. */
  readonly uploadLimit: Limiter;
}

export function userRoutes(deps: UserDeps) {
  const liveUser = (id: string) =>
    deps.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['users'];
    const security = [{ bearer: [] }];

    r.get(
      '/users/:id',
      {
        config: { access: 'authenticated' },
        schema: { tags, security, params: UserIdParams, response: { 200: UserView } },
      },
      async (request) => {
        const principal = principalOf(request);
        const user = await liveUser(request.params.id);
        if (!user) throw platformError('not_found');
        const full = canSeeFullProfile(principal, user.id);
        // Parsed here with the chosen view, so nothing outside it can be serialized.
        return full
          ? UserSelfView.parse(toSelfView(user))
          : UserPublicView.parse(toPublicView(user));
      },
    );

    await uploadRoutes(app, (scope) => {
      scope.withTypeProvider<ZodTypeProvider>().put(
        '/users/me/avatar',
        {
          config: { access: 'authenticated' },
          preHandler: [perUser(deps.uploadLimit)],
          bodyLimit: UPLOAD_BODY_LIMIT,
          schema: {
            tags,
            security,
            consumes: ['multipart/form-data'],
            response: { 200: UserSelfView },
          },
        },
        async (request) => {
          const { userId } = principalOf(request);
          const webp = await readImageUpload(request, deps.imageDecodes);
          return toSelfView(await replaceAvatar(deps, userId, webp));
        },
      );
    });
  };
}
