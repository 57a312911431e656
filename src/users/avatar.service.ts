/**
 * Replacing a user's avatar with an upload already re-encoded to WebP (the shared image
 * pipeline): the new image is stored, the row points at it, the old image goes. Used by
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

/**
 * Stores `webp` as the avatar of a live user and returns the updated row; 401 if gone. One
 * transaction: the new image, the row pointing at it and the removal of the old image commit
 * together (the row is locked, so two replacements in a race each remove what they replaced and
 * neither leaves an image behind).
 */
export async function replaceAvatar(deps: AvatarDeps, userId: string, webp: Buffer) {
  return deps.db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('users')
      .select('avatar_url')
      .where('id', '=', userId)
      .where('deleted_at', 'is', null)
      .forUpdate()
      .executeTakeFirst();
    if (!before) throw platformError('unauthorized');
    const path = await deps.media.save(webp, trx);
    const after = await trx
      .updateTable('users')
      .set({ avatar_url: path, updated_at: new Date(deps.clock.now()) })
      .where('id', '=', userId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await deps.media.remove(before.avatar_url, trx);
    return after;
  });
}
