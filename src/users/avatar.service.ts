/**
 * Replacing a user's avatar with an upload already re-encoded to WebP (the shared image
 * pipeline): the new file is stored, the row points at it, the old file goes. Used by
 * `PUT /users/me/avatar` and the `/account` avatar form (issue 15).
 */
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import { platformError } from '../platform/errors.js';
import type { MediaStore } from '../platform/media/media.store.js';

export interface AvatarDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly media: MediaStore;
}

/** Stores `webp` as the avatar of a live user and returns the updated row; 401 if gone. */
export async function replaceAvatar(deps: AvatarDeps, userId: string, webp: Buffer) {
  const path = await deps.media.save(webp);
  const before = await deps.db
    .selectFrom('users')
    .select('avatar_url')
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!before) {
    await deps.media.remove(path);
    throw platformError('unauthorized');
  }
  const after = await deps.db
    .updateTable('users')
    .set({ avatar_url: path, updated_at: new Date(deps.clock.now()) })
    .where('id', '=', userId)
    .returningAll()
    .executeTakeFirstOrThrow();
  await deps.media.remove(before.avatar_url);
  return after;
}
