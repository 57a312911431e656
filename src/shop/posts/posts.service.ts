/** Posts and comments: sanitizing on write, the author-only edit and the moderated delete. */

import type { FastifyBaseLogger } from 'fastify';
import { uuidv7 } from 'uuidv7';
import { hasRole, type Principal } from '../../access/policy.js';
import { appendAudit } from '../../platform/audit/audit.store.js';
import { platformError } from '../../platform/errors.js';
import type { ShopDeps } from '../shop.deps.js';
import { postError } from './posts.errors.js';
import type { Comment, CreatePost, Post, UpdatePost } from './posts.schemas.js';
import * as store from './posts.store.js';
import type { CommentRow, PostRow } from './posts.tables.js';
import { hasText, sanitizeContent } from './sanitize.js';

type Deps = Pick<ShopDeps, 'db' | 'clock'>;
type RemovalDeps = Pick<ShopDeps, 'db' | 'clock' | 'events' | 'audit'>;

export function toPostView(row: PostRow): Post {
  return {
    id: row.id,
    authorId: row.author_id,
    title: row.title,
    content: row.content,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toCommentView(row: CommentRow): Comment {
  return {
    id: row.id,
    postId: row.post_id,
    authorId: row.author_id,
    content: row.content,
    createdAt: row.created_at.toISOString(),
  };
}

function cleanContent(html: string): string {
  const clean = sanitizeContent(html);
  if (!hasText(clean)) throw postError('empty_content');
  return clean;
}

/**
 * Whether the caller may remove anyone's content. An admin counts only with a second factor in
 * the session: without one, an administrator may do only what every user may (ASVS V6.3.3).
 */
function moderates(principal: Principal): 'moderator' | 'admin' | null {
  if (hasRole(principal, 'admin') && principal.mfa) return 'admin';
  if (hasRole(principal, 'moderator')) return 'moderator';
  return null;
}

export async function createPost(deps: Deps, authorId: string, body: CreatePost): Promise<Post> {
  const now = new Date(deps.clock.now());
  const row = await store.insertPost(deps.db, {
    id: uuidv7(),
    author_id: authorId,
    title: body.title,
    content: cleanContent(body.content),
    created_at: now,
    updated_at: now,
  });
  return toPostView(row);
}

/** Only the author edits; anyone else gets 403 (the post is public, so 404 would hide nothing). */
export async function editPost(
  deps: Deps,
  principal: Principal,
  id: string,
  body: UpdatePost,
): Promise<Post> {
  const content = body.content === undefined ? undefined : cleanContent(body.content);
  return deps.db.transaction().execute(async (trx) => {
    const post = await store.findPostForUpdate(trx, id);
    if (!post) throw platformError('not_found');
    if (post.author_id !== principal.userId) throw platformError('forbidden');
    const row = await store.updatePost(trx, id, {
      ...(body.title === undefined ? {} : { title: body.title }),
      ...(content === undefined ? {} : { content }),
      updated_at: new Date(deps.clock.now()),
    });
    return toPostView(row);
  });
}

/** Who removes content, and where their request came from (for the audit log). */
export interface Removal {
  readonly principal: Principal;
  readonly ip: string;
  readonly log: FastifyBaseLogger;
}

interface Removed {
  readonly type: 'post' | 'comment';
  readonly id: string;
  readonly authorId: string;
}

/**
 * Deletes what `find` locked, when the caller wrote it or moderates. Removing someone else's
 * content is a moderation act: it goes into the audit log in the same transaction and, once
 * committed, is an `admin_action` security event (issue 5).
 */
async function remove(
  deps: RemovalDeps,
  by: Removal,
  find: (trx: ShopDeps['db']) => Promise<Removed | undefined>,
  del: (trx: ShopDeps['db'], id: string) => Promise<void>,
): Promise<void> {
  const audited = await deps.db.transaction().execute(async (trx) => {
    const target = await find(trx);
    if (!target) throw platformError('not_found');
    if (target.authorId !== by.principal.userId) {
      const as = moderates(by.principal);
      if (!as) throw platformError('forbidden');
      const entry = {
        actorId: by.principal.userId,
        action: `shop.${target.type}.removed`,
        targetType: target.type,
        targetId: target.id,
        ip: by.ip,
        detail: { authorId: target.authorId, as },
      };
      await appendAudit(deps.audit, trx, entry, new Date(deps.clock.now()));
    }
    await del(trx, target.id);
    return target.authorId === by.principal.userId ? null : target;
  });
  if (!audited) return;
  const actor = { userId: by.principal.userId, ip: by.ip };
  await deps.events.adminAction(by.log, actor, `shop.${audited.type}.removed`, audited.id);
}

/** The author, a moderator or an admin deletes a post and its comments. */
export async function removePost(deps: RemovalDeps, by: Removal, id: string): Promise<void> {
  await remove(
    deps,
    by,
    async (trx) => {
      const post = await store.findPostForUpdate(trx, id);
      return post && { type: 'post', id: post.id, authorId: post.author_id };
    },
    store.deletePost,
  );
}

/** The comment's author, a moderator or an admin deletes a comment. */
export async function removeComment(deps: RemovalDeps, by: Removal, id: string): Promise<void> {
  await remove(
    deps,
    by,
    async (trx) => {
      const comment = await store.findCommentForUpdate(trx, id);
      return comment && { type: 'comment', id: comment.id, authorId: comment.author_id };
    },
    store.deleteComment,
  );
}

export async function addComment(
  deps: Deps,
  authorId: string,
  postId: string,
  content: string,
): Promise<Comment> {
  const clean = cleanContent(content);
  return deps.db.transaction().execute(async (trx) => {
    // Shared lock: the post cannot be deleted between this check and the insert.
    if (!(await store.findPostForShare(trx, postId))) throw platformError('not_found');
    const row = await store.insertComment(trx, {
      id: uuidv7(),
      post_id: postId,
      author_id: authorId,
      content: clean,
      created_at: new Date(deps.clock.now()),
    });
    return toCommentView(row);
  });
}
