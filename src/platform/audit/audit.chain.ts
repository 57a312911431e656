/**
 * The audit log's hash chain: each entry's hash is SHA-256 over the previous entry's hash and the
 * entry's canonical content, so changing, removing or reordering any entry breaks every link
 * after it. Canonical = JSON with object keys sorted at every depth (jsonb does not keep the
 * order keys were written in) and times as ISO strings with milliseconds.
 */
import { createHash } from 'node:crypto';

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

/** The hash an entry with this content must hold when it follows `prevHash`. */
export function chainHash(prevHash: string, entry: ChainedContent): string {
  const content = canonical({
    id: entry.id,
    at: entry.at.toISOString(),
    actorId: entry.actorId,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    ip: entry.ip,
    detail: entry.detail,
  });
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}
