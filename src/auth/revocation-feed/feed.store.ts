/**
 * The revocation feed's page: sessions revoked after a cursor, oldest first, read from the
 * database that `Revocations` already treats as the source of truth (`sessions.revoked_at`).
 * The cursor is the position `(revoked_at, id)` of the last item a reader saw; it is opaque to
 * clients. Only revocations that can still matter are served: one older than an access token's
 * life (plus clock tolerance) protects nothing, so a cursor older than that starts at that floor.
 */
import type { Db } from '../../platform/db/database.js';

/** `<ms since the epoch>_<session id>`; `_` + the nil UUID marks a position before any id. */
export const CURSOR_PATTERN =
  /^\d{1,15}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NIL_ID = '00000000-0000-0000-0000-000000000000';

export interface FeedPosition {
  readonly atMs: number;
  readonly id: string;
}

export interface FeedItem {
  readonly sessionId: string;
  readonly userId: string;
  /** ISO time after which the revocation no longer matters (every token it covers has expired). */
  readonly until: string;
}

export interface FeedPage {
  readonly items: FeedItem[];
  readonly cursor: string;
}

export function encodeCursor(position: FeedPosition): string {
  return `${position.atMs}_${position.id}`;
}

/** Parses a cursor that matched CURSOR_PATTERN. */
export function decodeCursor(cursor: string): FeedPosition {
  const [ms = '0', id = NIL_ID] = cursor.split('_');
  return { atMs: Number(ms), id };
}

/**
 * Up to `limit` revocations after `since` (or after the floor when `since` is older or absent).
 * The cursor answered is the last item's position, or the position started from when none.
 */
export async function revocationsSince(
  db: Db,
  since: FeedPosition | undefined,
  nowMs: number,
  windowMs: number,
  limit: number,
): Promise<FeedPage> {
  const floor: FeedPosition = { atMs: nowMs - windowMs, id: NIL_ID };
  const from = since && since.atMs >= floor.atMs ? since : floor;
  const at = new Date(from.atMs);
  const rows = await db
    .selectFrom('sessions')
    .select(['id', 'user_id', 'revoked_at'])
    .where((eb) =>
      eb.or([
        eb('revoked_at', '>', at),
        eb.and([eb('revoked_at', '=', at), eb('id', '>', from.id)]),
      ]),
    )
    .orderBy('revoked_at', 'asc')
    .orderBy('id', 'asc')
    .limit(limit)
    .execute();
  const items: FeedItem[] = [];
  let last = from;
  for (const row of rows) {
    if (!row.revoked_at) continue;
    const atMs = row.revoked_at.getTime();
    items.push({
      sessionId: row.id,
      userId: row.user_id,
      until: new Date(atMs + windowMs).toISOString(),
    });
    last = { atMs, id: row.id };
  }
  return { items, cursor: encodeCursor(last) };
}
