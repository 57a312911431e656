/**
 * The chain's head, kept in shared state (Redis, or memory on the embedded default): outside the
 * table it protects, so entries cut from the end of the table are noticed. Written under the
 * chain's advisory lock by every append, before its transaction commits; `xid` is that
 * transaction, so a head whose entry rolled back is told apart from one whose entry was deleted.
 */
import type { SharedState } from '../state/shared-state.js';

const HEAD_KEY = 'audit:head';
/** The state's contract has no "forever"; ten years is as good. */
const HEAD_TTL_MS = 10 * 365 * 86_400_000;

export interface ChainHead {
  readonly seq: string;
  readonly id: string;
  readonly hash: string;
  readonly prevHash: string;
  /** The appending transaction (`pg_current_xact_id()`); null when anchored from a committed row. */
  readonly xid: string | null;
}

export async function saveHead(state: SharedState, head: ChainHead): Promise<void> {
  await state.set(HEAD_KEY, JSON.stringify(head), HEAD_TTL_MS);
}

/** The stored head, or null when there is none (a new state) or it cannot be read as one. */
export async function loadHead(state: SharedState): Promise<ChainHead | null> {
  const raw = await state.get(HEAD_KEY);
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<ChainHead>;
    if (
      typeof v.seq === 'string' &&
      typeof v.id === 'string' &&
      typeof v.hash === 'string' &&
      typeof v.prevHash === 'string' &&
      (typeof v.xid === 'string' || v.xid === null)
    ) {
      return { seq: v.seq, id: v.id, hash: v.hash, prevHash: v.prevHash, xid: v.xid };
    }
  } catch {
    // fall through: unreadable
  }
  return null;
}
