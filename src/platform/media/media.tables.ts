/** Row type of media (migrations/0017); part of the `Database` interface. */
import type { ColumnType } from 'kysely';

declare module '../db/schema.js' {
  interface Database {
    media: MediaTable;
  }
}

export interface MediaTable {
  /** `<43 base64url characters>.webp`: 256 random bits, never reused. */
  name: string;
  content_type: string;
  /** `"<base64url SHA-256 of bytes>"`, quoted as an HTTP entity tag. */
  etag: string;
  /** Read and written as base64 text by the store (media.store.ts says why). */
  bytes: ColumnType<Uint8Array, Buffer, never>;
  created_at: ColumnType<Date, Date | undefined, never>;
}
