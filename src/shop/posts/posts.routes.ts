/** Posts and comments (issue 7): sanitized HTML, author edits, author/moderator/admin deletes. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import { requireVerifiedEmail } from '../../access/verified-email.js';
import { platformError } from '../../platform/errors.js';
import { perUser } from '../../platform/rate-limit/rate-limits.js';
import type { ShopDeps } from '../shop.deps.js';
import {
  CommentList,
  CommentView,
  CreateCommentBody,
  CreatePostBody,
  IdParams,
  ListQuery,
  PostList,
  PostView,
  UpdatePostBody,
} from './posts.schemas.js';
import {
  addComment,
  createPost,
  editPost,
  removeComment,
  removePost,
  toCommentView,
  toPostView,
} from './posts.service.js';
import { findComment, findPost, listComments, listPosts } from './posts.store.js';

const tags = ['posts'];

/** The next page's cursor: the last item's id when the page is full and more follow. */
function page<T extends { id: string }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

export function postRoutes(deps: ShopDeps) {
  const verifiedEmail = requireVerifiedEmail(deps.db);
  const contentLimit = perUser(deps.limits.content);

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/posts',
      {
        config: { access: 'public' },
        schema: { tags, querystring: ListQuery, response: { 200: PostList } },
      },
      async (request) => {
        const { limit, cursor } = request.query;
        const { items, nextCursor } = page(await listPosts(deps.db, limit + 1, cursor), limit);
        return { items: items.map(toPostView), nextCursor };
      },
    );

    r.get(
      '/posts/:id',
      {
        config: { access: 'public' },
        schema: { tags, params: IdParams, response: { 200: PostView } },
      },
      async (request) => {
        const post = await findPost(deps.db, request.params.id);
        if (!post) throw platformError('not_found');
        return toPostView(post);
      },
    );

    r.post(
      '/posts',
      {
        config: { access: 'authenticated' },
        preHandler: [verifiedEmail, contentLimit],
        schema: { tags, body: CreatePostBody, response: { 201: PostView } },
      },
      async (request, reply) => {
        const post = await createPost(deps, principalOf(request).userId, request.body);
        return reply.code(201).header('location', `/posts/${post.id}`).send(post);
      },
    );

    r.patch(
      '/posts/:id',
      {
        config: { access: 'authenticated' },
        preHandler: [verifiedEmail, contentLimit],
        schema: { tags, params: IdParams, body: UpdatePostBody, response: { 200: PostView } },
      },
      async (request) => editPost(deps, principalOf(request), request.params.id, request.body),
    );

    r.delete(
      '/posts/:id',
      { config: { access: 'authenticated' }, schema: { tags, params: IdParams } },
      async (request, reply) => {
        const by = { principal: principalOf(request), ip: request.ip, log: request.log };
        await removePost(deps, by, request.params.id);
        return reply.code(204).send();
      },
    );

    r.get(
      '/posts/:id/comments',
      {
        config: { access: 'public' },
        schema: { tags, params: IdParams, querystring: ListQuery, response: { 200: CommentList } },
      },
      async (request) => {
        if (!(await findPost(deps.db, request.params.id))) throw platformError('not_found');
        const { limit, cursor } = request.query;
        const rows = await listComments(deps.db, request.params.id, limit + 1, cursor);
        const { items, nextCursor } = page(rows, limit);
        return { items: items.map(toCommentView), nextCursor };
      },
    );

    r.post(
      '/posts/:id/comments',
      {
        config: { access: 'authenticated' },
        preHandler: [verifiedEmail, contentLimit],
        schema: { tags, params: IdParams, body: CreateCommentBody, response: { 201: CommentView } },
      },
      async (request, reply) => {
        const { userId } = principalOf(request);
        const comment = await addComment(deps, userId, request.params.id, request.body.content);
        return reply.code(201).header('location', `/comments/${comment.id}`).send(comment);
      },
    );

    // The resource a comment's Location names.
    r.get(
      '/comments/:id',
      {
        config: { access: 'public' },
        schema: { tags, params: IdParams, response: { 200: CommentView } },
      },
      async (request) => {
        const comment = await findComment(deps.db, request.params.id);
        if (!comment) throw platformError('not_found');
        return toCommentView(comment);
      },
    );

    r.delete(
      '/comments/:id',
      { config: { access: 'authenticated' }, schema: { tags, params: IdParams } },
      async (request, reply) => {
        const by = { principal: principalOf(request), ip: request.ip, log: request.log };
        await removeComment(deps, by, request.params.id);
        return reply.code(204).send();
      },
    );
  };
}
