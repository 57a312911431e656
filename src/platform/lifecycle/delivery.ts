/**
 * Delivery of the lifecycle outbox (issue 19) to WEBHOOK_URL. Every instance runs one worker when
 * a webhook is configured. A worker claims due rows with `FOR UPDATE SKIP LOCKED` (two instances
 * never take the same row), holding each for `leaseMs` (longer than a request may take), and POSTs
 * `{id, type, at, userId, data}` signed exactly like the security alerts (`Bastion-Signature`,
 * alerts.ts). A 2xx marks the row delivered; anything else (an error status, a redirect, a refused
 * connection, a timeout) keeps it pending with an exponential backoff capped at `maxDelayMs`,
 * counting the attempts and keeping the last status or error code, never the response body.
 * Nothing is ever dropped: a receiver that is down for days gets every event when it is back.
 *
 * At least once: a worker that dies after the receiver took the POST but before the row was marked
 * leaves it claimed until the lease ends, and another instance sends it again with the same `id`.
 * Receivers de-duplicate by `id` (README, "Lifecycle webhooks").
 */
import type { FastifyBaseLogger } from 'fastify';
import { failureReason, SIGNATURE_HEADER, signAlert } from '../alerts.js';
import type { Db } from '../db/database.js';

export interface LifecycleWebhook {
  readonly url: string;
  readonly secret: string;
}

export interface LifecycleDeliveryOptions {
  /** Pause between polls when the last one found less than a full batch. */
  readonly intervalMs?: number;
  /** Rows claimed (and sent in parallel) per poll. */
  readonly batchSize?: number;
  /** How long a claim holds; a dead worker's rows are sent again after it. */
  readonly leaseMs?: number;
  /** One POST's limit; below `leaseMs`, so a live worker never loses its claim mid-request. */
  readonly timeoutMs?: number;
  /** The first retry's delay; each later one doubles, up to `maxDelayMs`. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

const DEFAULTS: Required<LifecycleDeliveryOptions> = {
  intervalMs: 500,
  batchSize: 10,
  leaseMs: 60_000,
  timeoutMs: 10_000,
  baseDelayMs: 5_000,
  maxDelayMs: 60 * 60_000,
};

interface ClaimedRow {
  id: string;
  type: string;
  user_id: string;
  data: Record<string, unknown>;
  at: Date;
  attempts: number;
}

/** The body a receiver gets: the same bytes on every attempt of one event. */
export function lifecycleBody(row: Omit<ClaimedRow, 'attempts'>): string {
  return JSON.stringify({
    id: row.id,
    type: row.type,
    at: row.at.toISOString(),
    userId: row.user_id,
    data: row.data,
  });
}

/** The retry delay after `attempts` failed attempts: base, 2x base, 4x base... up to the cap. */
export function backoffMs(attempts: number, options: LifecycleDeliveryOptions = {}): number {
  const base = options.baseDelayMs ?? DEFAULTS.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULTS.maxDelayMs;
  return Math.min(cap, base * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
}

export class LifecycleDeliveryWorker {
  private readonly options: Required<LifecycleDeliveryOptions>;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** Cancels the POSTs in flight when the worker stops. */
  private abort = new AbortController();

  constructor(
    private readonly db: Db,
    private readonly webhook: LifecycleWebhook,
    private readonly log: FastifyBaseLogger,
    options: LifecycleDeliveryOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.abort = new AbortController();
    this.running = this.loop();
  }

  /**
   * Stops polling, cancels the POSTs in flight and hands their rows back (due now), so the next
   * instance to poll sends them without waiting for the lease.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let claimed = 0;
      try {
        claimed = await this.runOnce();
      } catch (err) {
        this.log.warn(
          { event: 'lifecycle_delivery_failed', errName: (err as Error)?.name },
          'lifecycle delivery poll failed',
        );
      }
      if (claimed < this.options.batchSize && !this.stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.intervalMs);
          timer.unref();
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** Claims one batch of due rows and sends them; returns how many it claimed. */
  async runOnce(): Promise<number> {
    const now = Date.now();
    const rows = await this.claim(new Date(now), new Date(now + this.options.leaseMs));
    await Promise.all(rows.map((row) => this.deliver(row)));
    return rows.length;
  }

  private async claim(now: Date, until: Date): Promise<ClaimedRow[]> {
    return this.db
      .updateTable('lifecycle_events')
      .set((eb) => ({ next_attempt_at: until, attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('lifecycle_events')
          .select('id')
          .where('delivered_at', 'is', null)
          .where('next_attempt_at', '<=', now)
          .orderBy('next_attempt_at')
          .orderBy('id')
          .limit(this.options.batchSize)
          .forUpdate()
          .skipLocked(),
      )
      .returning(['id', 'type', 'user_id', 'data', 'at', 'attempts'])
      .execute();
  }

  private async deliver(row: ClaimedRow): Promise<void> {
    const body = lifecycleBody(row);
    let status: number | undefined;
    let reason: string | undefined;
    try {
      const t = Math.floor(Date.now() / 1000);
      const res = await fetch(this.webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signAlert(this.webhook.secret, body, t),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      status = res.status;
      // The body is never read, let alone kept.
      await res.body?.cancel();
    } catch (err) {
      reason = this.abort.signal.aborted ? 'aborted' : failureReason(err);
    }

    const now = Date.now();
    if (status !== undefined && status >= 200 && status < 300) {
      await this.db
        .updateTable('lifecycle_events')
        .set({ delivered_at: new Date(now), last_status: status, last_error: null })
        .where('id', '=', row.id)
        .execute();
      return;
    }
    // Stopped mid-request: due again at once (the receiver may have it; it de-duplicates).
    const retryAt = reason === 'aborted' ? now : now + backoffMs(row.attempts, this.options);
    this.log.info(
      {
        event: 'lifecycle_delivery_retry',
        eventId: row.id,
        type: row.type,
        attempt: row.attempts,
        status,
        reason,
      },
      'lifecycle event will be sent again',
    );
    await this.db
      .updateTable('lifecycle_events')
      .set({
        next_attempt_at: new Date(retryAt),
        last_status: status ?? null,
        last_error: reason ?? null,
      })
      .where('id', '=', row.id)
      .where('delivered_at', 'is', null)
      .execute();
  }
}
