/**
 * Security alerts to ALERT_WEBHOOK_URL: every security event is POSTed as JSON, signed
 * `Bastion-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, in the background.
 * Raising an event never waits for the receiver: deliveries sit in a bounded queue (the oldest is
 * dropped beyond it), a few are sent at a time with a timeout, failures are retried with
 * exponential backoff, and closing the app cancels whatever is still pending.
 */
import { createHmac } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { safeEqual } from './crypto.js';
import type { SecurityEventListener, SecurityEvents } from './security-events.js';

export const SIGNATURE_HEADER = 'bastion-signature';

export interface AlertWebhook {
  readonly url: string;
  readonly secret: string;
}

export interface AlertSenderOptions {
  /** Waits before each retry; attempts = retries + 1. */
  readonly retryDelaysMs?: readonly number[];
  readonly timeoutMs?: number;
  /** Deliveries kept (waiting, sending or backing off); beyond it the oldest is dropped. */
  readonly maxQueue?: number;
  /** Deliveries sent at the same time. */
  readonly concurrency?: number;
}

const DEFAULTS = {
  retryDelaysMs: [1000, 2000, 4000, 8000],
  timeoutMs: 5000,
  maxQueue: 1000,
  concurrency: 4,
} as const;

type SecurityEventRecord = Parameters<SecurityEventListener>[0];

/** A delivered alert: the event it carried and the attempt that got through. */
export interface SentAlert {
  readonly alertId: string;
  readonly alertType: string;
  readonly attempt: number;
}

interface Delivery {
  readonly id: string;
  readonly type: string;
  readonly body: string;
  attempts: number;
  timer?: NodeJS.Timeout;
  abort?: AbortController;
}

function hmacHex(secret: string, t: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
}

/** The `Bastion-Signature` value for `body` sent at `t` (unix seconds). */
export function signAlert(secret: string, body: string | Buffer, t: number): string {
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

/**
 * For receivers (and tests): true when `header` carries a valid signature of the raw `body` made
 * within `toleranceSeconds` of now. Compared in constant time; a replay outside the tolerance fails.
 */
export function verifyAlertSignature(
  secret: string,
  header: string | undefined,
  body: string | Buffer,
  toleranceSeconds: number,
  nowSeconds: number = Date.now() / 1000,
): boolean {
  if (!header) return false;
  const stamps: string[] = [];
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') stamps.push(value);
    else if (key === 'v1') signatures.push(value.toLowerCase());
  }
  const [stamp] = stamps;
  if (stamps.length !== 1 || !stamp || !/^\d{1,12}$/.test(stamp) || signatures.length === 0)
    return false;
  const t = Number(stamp);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = hmacHex(secret, t, body);
  // Every candidate is compared (no early exit), so timing does not say which one matched.
  return signatures.reduce((ok, s) => safeEqual(s, expected) || ok, false);
}

/** 5xx, 408 and 429 may pass; another 4xx (or a redirect, never followed) will not. */
function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** What went wrong, without the URL (a webhook URL often embeds a token). */
export function failureReason(err: unknown): string {
  if (!(err instanceof Error)) return 'error';
  const cause = (err as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : err.name;
}

/** The background sender behind `installAlerts`; one per app. */
export class AlertSender {
  /** Every delivery not yet finished, oldest first. */
  private readonly pending = new Set<Delivery>();
  private readonly ready: Delivery[] = [];
  private sending = 0;
  private closed = false;
  private readonly options: Required<AlertSenderOptions>;

  constructor(
    private readonly webhook: AlertWebhook,
    private readonly log: FastifyBaseLogger,
    options: AlertSenderOptions = {},
    /** Called once per delivered alert (installAlerts records it as an `alert_sent` event). */
    private readonly onSent?: (sent: SentAlert) => void,
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Queues an alert for `event`; returns at once. */
  send(event: SecurityEventRecord): void {
    if (this.closed) return;
    if (this.pending.size >= this.options.maxQueue) this.dropOldest();
    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      at: event.at.toISOString(),
      userId: event.userId ?? null,
      ip: event.ip ?? null,
      detail: event.detail ?? {},
    });
    const delivery: Delivery = { id: event.id, type: event.type, body, attempts: 0 };
    this.pending.add(delivery);
    this.ready.push(delivery);
    this.pump();
  }

  /** Cancels every pending delivery and retry timer; later events are ignored. */
  close(): void {
    this.closed = true;
    if (this.pending.size > 0) {
      this.log.warn(
        { event: 'alerts_abandoned', count: this.pending.size },
        'closing: undelivered alerts abandoned',
      );
    }
    for (const delivery of [...this.pending]) this.forget(delivery);
  }

  private dropOldest(): void {
    const oldest = this.pending.values().next().value;
    if (!oldest) return;
    this.forget(oldest);
    this.log.warn(
      { event: 'alert_dropped', alertId: oldest.id, type: oldest.type },
      'alert queue full: oldest alert dropped',
    );
  }

  private forget(delivery: Delivery): void {
    this.pending.delete(delivery);
    clearTimeout(delivery.timer);
    delivery.abort?.abort();
    const i = this.ready.indexOf(delivery);
    if (i >= 0) this.ready.splice(i, 1);
  }

  private pump(): void {
    while (!this.closed && this.sending < this.options.concurrency) {
      const delivery = this.ready.shift();
      if (!delivery) return;
      this.sending++;
      this.attempt(delivery)
        .catch((err: unknown) => this.log.error({ err }, 'alert delivery failed unexpectedly'))
        .finally(() => {
          this.sending--;
          this.pump();
        });
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    delivery.attempts++;
    const abort = new AbortController();
    delivery.abort = abort;
    let status: number | undefined;
    let reason: string | undefined;
    try {
      const t = Math.floor(Date.now() / 1000);
      const res = await fetch(this.webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signAlert(this.webhook.secret, delivery.body, t),
        },
        body: delivery.body,
        redirect: 'manual',
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      status = res.status;
      await res.body?.cancel();
    } catch (err) {
      if (abort.signal.aborted) return; // dropped or closed meanwhile
      reason = failureReason(err);
    } finally {
      delivery.abort = undefined;
    }
    if (!this.pending.has(delivery)) return;

    const log = { alertId: delivery.id, type: delivery.type, attempt: delivery.attempts };
    if (status !== undefined && status >= 200 && status < 300) {
      this.pending.delete(delivery);
      this.onSent?.({ alertId: delivery.id, alertType: delivery.type, attempt: delivery.attempts });
      return;
    }
    const delay = this.options.retryDelaysMs[delivery.attempts - 1];
    if (delay === undefined || (status !== undefined && !retryable(status))) {
      this.pending.delete(delivery);
      this.log.warn({ event: 'alert_failed', ...log, status, reason }, 'alert not delivered');
      return;
    }
    this.log.info({ event: 'alert_retry', ...log, status, reason, delayMs: delay }, 'alert_retry');
    delivery.timer = setTimeout(() => {
      delivery.timer = undefined;
      this.ready.push(delivery);
      this.pump();
    }, delay);
    delivery.timer.unref();
  }
}

/**
 * Sends every security event to the alert webhook, when one is configured, and records each
 * delivery as an `alert_sent` event (listed by GET /admin/security-events), which is itself never
 * sent: an alert about an alert would loop.
 */
export function installAlerts(
  app: FastifyInstance,
  webhook: AlertWebhook | undefined,
  events: SecurityEvents,
  options?: AlertSenderOptions,
): void {
  if (!webhook) return;
  const sender = new AlertSender(webhook, app.log, options, (sent) => {
    events
      .record(app.log, { type: 'alert_sent', detail: { ...sent } })
      .catch((err: unknown) => app.log.error({ err }, 'alert_sent could not be recorded'));
  });
  events.onEvent((event) => {
    if (event.type !== 'alert_sent') sender.send(event);
  });
  app.addHook('onClose', async () => sender.close());
}
