/** Row types of posts and comments (migrations/0006_posts.ts); part of the `Database` interface. */
import type { ColumnType, Selectable } from 'kysely';

// Posts and comments join the platform's `Database` from here: the platform never imports them.
declare module '../../platform/db/schema.js' {
  interface Database extends PostTables {}
}

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface PostsTable {
  id: string;
  author_id: ColumnType<string, string, never>;
  /** Plain text: never HTML, escaped by whoever renders it. */
  title: string;
  /** HTML as left by the allowlist sanitizer (sanitize.ts) at write time. */
  content: string;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface CommentsTable {
  id: string;
  post_id: ColumnType<string, string, never>;
  author_id: ColumnType<string, string, never>;
  /** HTML as left by the allowlist sanitizer (sanitize.ts) at write time. */
  content: string;
  created_at: CreatedAt;
}

export interface PostTables {
  posts: PostsTable;
  comments: CommentsTable;
}

export type PostRow = Selectable<PostsTable>;
export type CommentRow = Selectable<CommentsTable>;
