/** Row types of posts and comments (migrations/0006_posts.ts); part of the `Database` interface. */

// biome-ignore lint/suspicious/noEmptyInterface: filled by the posts' tables (issue 7)
export interface PostTables {}
