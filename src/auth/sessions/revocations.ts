/**
 * Which sessions are revoked, known in-process so the token gate never needs a database call.
 * A revocation is written to the database (source of truth) by the caller, then announced here:
 * published, so every instance adds it to its own set within moments; an instance that starts
 * later reads recent revocations from the database. Entries live as long as an access token
 * can, after which the token is dead anyway.
 */
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/database.js';
import type { SharedState } from '../../platform/state/shared-state.js';

export const REVOCATIONS_CHANNEL = 'revocations';

export class Revocations {
  private readonly revoked = new Map<string, number>();
  private unsubscribe: (() => Promise<void>) | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly listeners: ((sessionIds: readonly string[]) => void)[] = [];

  constructor(
    private readonly state: SharedState,
    private readonly db: Db,
    private readonly clock: Clock,
    /** Access-token lifetime plus clock tolerance. */
    private readonly ttlMs: number,
  ) {}

  /** Subscribes first, then loads recent revocations, so none falls in between. */
  async start(): Promise<void> {
    this.unsubscribe = await this.state.subscribe(REVOCATIONS_CHANNEL, (message) => {
      for (const sid of message.split(',')) if (sid) this.remember(sid);
    });
    const since = new Date(this.clock.now() - this.ttlMs);
    const rows = await this.db
      .selectFrom('sessions')
      .select('id')
      .where('revoked_at', '>', since)
      .execute();
    for (const row of rows) this.remember(row.id);
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    await this.unsubscribe?.();
  }

  isRevoked(sessionId: string): boolean {
    const until = this.revoked.get(sessionId);
    if (until === undefined) return false;
    if (until <= this.clock.now()) {
      this.revoked.delete(sessionId);
      return false;
    }
    return true;
  }

  /** Adds a listener told of every revocation this instance announces (metrics); must not throw. */
  onAnnounce(listener: (sessionIds: readonly string[]) => void): void {
    this.listeners.push(listener);
  }

  /** Announces revoked sessions to every instance (this one at once). */
  async announce(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    for (const sid of sessionIds) this.remember(sid);
    for (const listener of this.listeners) {
      try {
        listener(sessionIds);
      } catch {
        // A metrics listener's failure must never stop a revocation.
      }
    }
    // Batches keep one message under Redis's comfortable size even for users with many sessions.
    for (let i = 0; i < sessionIds.length; i += 500) {
      await this.state.publish(REVOCATIONS_CHANNEL, sessionIds.slice(i, i + 500).join(','));
    }
  }

  private remember(sessionId: string): void {
    this.revoked.set(sessionId, this.clock.now() + this.ttlMs);
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [sid, until] of this.revoked) if (until <= now) this.revoked.delete(sid);
  }
}
