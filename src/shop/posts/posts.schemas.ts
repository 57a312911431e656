import { z } from 'zod';
import { isSafeLine } from '../shop.schemas.js';

export const TITLE_MAX_CODE_POINTS = 200;
/** Input HTML, before sanitizing (UTF-16 units, as counted by the validator). */
export const POST_CONTENT_MAX = 20_000;
export const COMMENT_CONTENT_MAX = 5_000;

/** Control characters but tab, LF and CR (NUL is also what PostgreSQL text cannot hold). */
const NOT_IN_CONTENT = /(?![\t\n\r])[\p{Cc}\p{Cs}]/u;

const Title = z
  .string()
  .max(TITLE_MAX_CODE_POINTS * 2)
  .refine((s) => s.trim() !== '', 'must not be blank')
  .refine(
    (s) => [...s].length <= TITLE_MAX_CODE_POINTS,
    `at most ${TITLE_MAX_CODE_POINTS} characters`,
  )
  .refine(isSafeLine, 'must not contain control characters')
  .describe(`Plain text, 1–${TITLE_MAX_CODE_POINTS} code points, no control characters`);

const content = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !NOT_IN_CONTENT.test(s), 'must not contain control characters')
    .describe('HTML, reduced on write to the allowlist (DESIGN.md, Shop)');

export const CreatePostBody = z.strictObject({
  title: Title,
  content: content(POST_CONTENT_MAX),
});

export const UpdatePostBody = z
  .strictObject({
    title: Title.optional(),
    content: content(POST_CONTENT_MAX).optional(),
  })
  .refine((b) => b.title !== undefined || b.content !== undefined, 'nothing to change');

export const CreateCommentBody = z.strictObject({ content: content(COMMENT_CONTENT_MAX) });

export const IdParams = z.strictObject({ id: z.uuid() });

export const ListQuery = z.strictObject({
  cursor: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const PostView = z.object({
  id: z.uuid(),
  authorId: z.uuid(),
  title: z.string(),
  content: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const CommentView = z.object({
  id: z.uuid(),
  postId: z.uuid(),
  authorId: z.uuid(),
  content: z.string(),
  createdAt: z.iso.datetime(),
});

export const PostList = z.object({ items: z.array(PostView), nextCursor: z.uuid().nullable() });
export const CommentList = z.object({
  items: z.array(CommentView),
  nextCursor: z.uuid().nullable(),
});

export type CreatePost = z.infer<typeof CreatePostBody>;
export type UpdatePost = z.infer<typeof UpdatePostBody>;
export type Post = z.infer<typeof PostView>;
export type Comment = z.infer<typeof CommentView>;
