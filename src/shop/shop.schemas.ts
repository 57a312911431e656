/** Schemas shared by the shop's features: paging, path ids and plain-text rules. */
import { z } from 'zod';

export const PageQuery = z.strictObject({
  cursor: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
export type PageQuery = z.infer<typeof PageQuery>;

export const IdParams = z.strictObject({ id: z.uuid() });

/** `{items, nextCursor}` for a list of `item`. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/** Cuts a `limit + 1` query result into a page and its cursor (the last id shown). */
export function toPage<R extends { id: string }, V>(
  rows: readonly R[],
  limit: number,
  view: (row: R) => V,
): { items: V[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return {
    items: page.map(view),
    nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/**
 * What one line of text shown to other people must not hold: control characters, lone
 * surrogates, line/paragraph separators (U+2028, U+2029) and bidi embeddings, overrides and
 * isolates (U+202A–U+202E, U+2066–U+2069), which reorder what a reader sees (Trojan Source).
 */
const NOT_IN_LINE = /[\p{Cc}\p{Cs}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;

/** Whether `s` can be shown as one line of plain text (post titles, order instructions). */
export function isSafeLine(s: string): boolean {
  return !NOT_IN_LINE.test(s);
}

/** One line of plain text up to `max` UTF-16 units that `isSafeLine` accepts. */
export function lineText(max: number) {
  return z.string().max(max).refine(isSafeLine, 'must not contain control characters');
}

/** Several lines of plain text (product descriptions): what a line refuses, but the line feed. */
const NOT_IN_BLOCK = new RegExp(`(?!\n)${NOT_IN_LINE.source}`, 'u');

/** Plain text up to `max` UTF-16 units, with line feeds but nothing `isSafeLine` refuses. */
export function blockText(max: number) {
  return z
    .string()
    .max(max)
    .refine((s) => !NOT_IN_BLOCK.test(s), 'must not contain control characters');
}
