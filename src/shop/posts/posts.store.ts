/** Kysely queries for posts and comments. Lists are keyset-paged by id (UUIDv7 sorts by time). */
import type { Db } from '../../platform/db/database.js';
import type { CommentRow, PostRow } from './posts.tables.js';

export async function insertPost(db: Db, row: PostRow): Promise<PostRow> {
  return db.insertInto('posts').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findPost(db: Db, id: string): Promise<PostRow | undefined> {
  return db.selectFrom('posts').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Locks the post (FOR UPDATE) so a check of its author holds until the change commits. */
export async function findPostForUpdate(trx: Db, id: string): Promise<PostRow | undefined> {
  return trx.selectFrom('posts').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Share-locks the post: it cannot be deleted until the caller's transaction ends. */
export async function findPostForShare(trx: Db, id: string): Promise<{ id: string } | undefined> {
  return trx.selectFrom('posts').select('id').where('id', '=', id).forShare().executeTakeFirst();
}

/** Newest first. */
export async function listPosts(db: Db, limit: number, before?: string): Promise<PostRow[]> {
  let query = db.selectFrom('posts').selectAll();
  if (before) query = query.where('id', '<', before);
  return query.orderBy('id', 'desc').limit(limit).execute();
}

export async function updatePost(
  trx: Db,
  id: string,
  changes: { title?: string; content?: string; updated_at: Date },
): Promise<PostRow> {
  return trx
    .updateTable('posts')
    .set(changes)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Deletes a post; its comments go with it (ON DELETE CASCADE). */
export async function deletePost(trx: Db, id: string): Promise<void> {
  await trx.deleteFrom('posts').where('id', '=', id).execute();
}

export async function insertComment(db: Db, row: CommentRow): Promise<CommentRow> {
  return db.insertInto('comments').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findCommentForUpdate(trx: Db, id: string): Promise<CommentRow | undefined> {
  return trx.selectFrom('comments').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function findComment(db: Db, id: string): Promise<CommentRow | undefined> {
  return db.selectFrom('comments').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Oldest first, as a conversation reads. */
export async function listComments(
  db: Db,
  postId: string,
  limit: number,
  after?: string,
): Promise<CommentRow[]> {
  let query = db.selectFrom('comments').selectAll().where('post_id', '=', postId);
  if (after) query = query.where('id', '>', after);
  return query.orderBy('id', 'asc').limit(limit).execute();
}

export async function deleteComment(trx: Db, id: string): Promise<void> {
  await trx.deleteFrom('comments').where('id', '=', id).execute();
}
