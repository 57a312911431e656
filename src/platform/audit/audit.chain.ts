/**
 * The audit log's hash chain: each entry's hash covers the previous entry's hash and the entry's
 * canonical content, so changing, removing or reordering any entry breaks every link after it.
 * Canonical = JSON with object keys sorted at every depth (jsonb does not keep the order keys
 * were written in) and times as ISO strings with milliseconds.
 *
 * Entries are written keyed (`hmac-sha256`, a key derived from the master key that the database
 * never holds), so whoever owns the table cannot recompute the chain after rewriting it. Entries
 * written before issue 14 hold plain SHA-256 (`sha256`) and still verify: they are vouched for
 * by the first keyed entry after them, whose MAC covers their last hash.
 */
import { createHash, createHmac } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedContent {
  readonly id: string;
  readonly at: Date;
  readonly actorId: string | null;
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string | null;
  readonly ip: string | null;
  readonly detail: Record<string, unknown>;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** `sha256`: entries written before the chain was keyed; `hmac-sha256`: every new entry. */
export type ChainAlg = 'sha256' | 'hmac-sha256';
export const LEGACY_ALG: ChainAlg = 'sha256';
export const KEYED_ALG: ChainAlg = 'hmac-sha256';

function content(entry: ChainedContent): string {
  return canonical({
    id: entry.id,
    at: entry.at.toISOString(),
    actorId: entry.actorId,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    ip: entry.ip,
    detail: entry.detail,
  });
}

/** The plain SHA-256 link of an entry written before the chain was keyed (verification only). */
export function legacyChainHash(prevHash: string, entry: ChainedContent): string {
  return createHash('sha256').update(prevHash).update('\n').update(content(entry)).digest('hex');
}

/** The keyed link: HMAC-SHA256 over the algorithm's name, `prevHash` and the content. */
export function keyedChainHash(key: Buffer, prevHash: string, entry: ChainedContent): string {
  return createHmac('sha256', key)
    .update(`${KEYED_ALG}\n${prevHash}\n`)
    .update(content(entry))
    .digest('hex');
}

/** The hash an entry with this content and algorithm must hold when it follows `prevHash`. */
export function chainHash(
  key: Buffer,
  alg: ChainAlg,
  prevHash: string,
  entry: ChainedContent,
): string {
  return alg === KEYED_ALG
    ? keyedChainHash(key, prevHash, entry)
    : legacyChainHash(prevHash, entry);
}
