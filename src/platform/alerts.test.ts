/**
 * The alert webhook (issue 5): every security event is POSTed, signed, to a real local receiver;
 * failures are retried with backoff; a receiver that hangs never delays the request that raised
 * the event; closing the app cancels what is pending; a delivered alert is listed as `alert_sent`
 * (and never itself alerted). Receivers check signatures with
 * `verifyAlertSignature`, which refuses tampered bodies, stale timestamps and other secrets.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAdmin } from '../../test/support/actors.js';
import { createTestApp, logCollector, type TestContext } from '../../test/support/app.js';
import { AlertSender, SIGNATURE_HEADER, signAlert, verifyAlertSignature } from './alerts.js';
import { manualClock } from './clock.js';

/** Building an app takes tens of seconds on a loaded two-core machine. */
const BUILD_TIMEOUT_MS = 180_000;

const SECRET = 'alert-webhook-secret-for-tests-0123';
const TOLERANCE_SECONDS = 300;

type Behavior = 'ok' | 'fail' | 'hang';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
  status: number | undefined;
  /** The connection went away before this request was answered (the sender aborted). */
  abandoned: boolean;
}

interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Answers for the next requests, in order; then `fallback`. */
  readonly plan: Behavior[];
  fallback: Behavior;
  /** Answers 200 to every request held by 'hang'. */
  release(): void;
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1:0 that answers as planned. */
async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const hanging: { res: ServerResponse; r: Received }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        status: undefined,
        abandoned: false,
      };
      received.push(r);
      res.on('close', () => {
        if (r.status === undefined) r.abandoned = true;
      });
      const behavior = receiver.plan.shift() ?? receiver.fallback;
      if (behavior === 'hang') {
        hanging.push({ res, r });
        return;
      }
      r.status = behavior === 'ok' ? 200 : 500;
      res.writeHead(r.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/alerts`,
    received,
    plan: [],
    fallback: 'ok',
    release() {
      for (const { res, r } of hanging.splice(0)) {
        r.status = 200;
        res.writeHead(200).end();
      }
    },
    async close() {
      for (const { res } of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signatureOf(r: Received): string {
  return String(r.headers[SIGNATURE_HEADER]);
}

describe('verifyAlertSignature', () => {
  const body = JSON.stringify({ id: 'x', type: 'unauthorized_burst' });
  const now = 1_750_000_000;

  it('accepts a fresh signature of the exact body', () => {
    expect(verifyAlertSignature(SECRET, signAlert(SECRET, body, now), body, 300, now + 10)).toBe(
      true,
    );
  });

  it('refuses a tampered body, another secret, a stale or future timestamp', () => {
    const header = signAlert(SECRET, body, now);
    expect(verifyAlertSignature(SECRET, header, `${body} `, 300, now)).toBe(false);
    expect(verifyAlertSignature(`${SECRET}x`, header, body, 300, now)).toBe(false);
    expect(verifyAlertSignature(SECRET, header, body, 300, now + 301)).toBe(false);
    expect(verifyAlertSignature(SECRET, header, body, 300, now - 301)).toBe(false);
  });

  it('refuses a moved timestamp, malformed and missing headers', () => {
    const v1 = signAlert(SECRET, body, now).split(',')[1];
    expect(verifyAlertSignature(SECRET, `t=${now + 1},${v1}`, body, 300, now)).toBe(false);
    expect(verifyAlertSignature(SECRET, `t=${now},t=${now},${v1}`, body, 300, now)).toBe(false);
    expect(verifyAlertSignature(SECRET, `t=${now}`, body, 300, now)).toBe(false);
    expect(verifyAlertSignature(SECRET, String(v1), body, 300, now)).toBe(false);
    expect(verifyAlertSignature(SECRET, `t=abc,${v1}`, body, 300, now)).toBe(false);
    expect(verifyAlertSignature(SECRET, '', body, 300, now)).toBe(false);
    expect(verifyAlertSignature(SECRET, undefined, body, 300, now)).toBe(false);
  });

  it('accepts any one valid v1 among several (secret rotation)', () => {
    const good = signAlert(SECRET, body, now).split(',')[1];
    const header = `t=${now},v1=${'0'.repeat(64)},${good}`;
    expect(verifyAlertSignature(SECRET, header, body, 300, now)).toBe(true);
  });
});

/** A wrong password for a fresh address: with one free failure, it raises account_throttled. */
async function raiseEvent(ctx: TestContext): Promise<string> {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: {
      email: `nobody-${randomBytes(5).toString('hex')}@example.test`,
      password: 'not-the-password-at-all-42',
    },
  });
  expect(res.statusCode).toBe(401);
  // Recorded before the answer; tests in a file run one at a time, so the newest is this one.
  const row = await ctx.database.db
    .selectFrom('security_events')
    .select('id')
    .where('type', '=', 'account_throttled')
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** What the receiver got for alert `id`, in order of arrival. */
const attemptsOf = (receiver: Receiver, id: string) =>
  receiver.received.filter((r) => JSON.parse(r.body).id === id);

/** An app that alerts to `receiver` (one free login failure, so every wrong login raises one). */
function alertingApp(receiver: Receiver, clock = manualClock()): Promise<TestContext> {
  return createTestApp({
    deps: { clock },
    env: {
      ALERT_WEBHOOK_URL: receiver.url,
      ALERT_WEBHOOK_SECRET: SECRET,
      RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES: '1',
    },
  });
}

describe('alerts from a running app', () => {
  // A manual clock, so the admin's TOTP codes are deterministic (createAdmin).
  const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
  let receiver: Receiver;
  let ctx: TestContext;

  beforeAll(async () => {
    receiver = await startReceiver();
    ctx = await alertingApp(receiver, clock);
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    await receiver?.close();
  });
  // Each test sets its own plan and leaves no delivery pending.
  beforeEach(() => {
    receiver.plan.length = 0;
    receiver.fallback = 'ok';
  });

  it('delivers a signed alert, retrying after the receiver first fails', async () => {
    receiver.plan.push('fail', 'ok');
    const id = await raiseEvent(ctx);

    await until(() => attemptsOf(receiver, id).length >= 2);
    const [first, second] = attemptsOf(receiver, id) as [Received, Received];
    expect(first.status).toBe(500);
    expect(second.status).toBe(200);
    // The same alert (same id, same bytes), each attempt signed afresh.
    expect(second.body).toBe(first.body);
    expect(first.headers['content-type']).toBe('application/json');
    for (const r of [first, second]) {
      expect(verifyAlertSignature(SECRET, signatureOf(r), r.body, TOLERANCE_SECONDS)).toBe(true);
    }

    const alert = JSON.parse(second.body);
    expect(Object.keys(alert).sort()).toEqual(['at', 'detail', 'id', 'ip', 'type', 'userId']);
    expect(alert).toMatchObject({
      id,
      type: 'account_throttled',
      userId: null,
      ip: '127.0.0.1',
      detail: { consecutiveFailures: 1 },
    });
    expect(new Date(alert.at).toISOString()).toBe(alert.at);

    await until(() => ctx.logs.some((l) => l.event === 'alert_sent' && l.alertId === id));
    const sent = ctx.logs.filter((l) => l.event === 'alert_sent' && l.alertId === id);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ level: 40, alertId: id, attempt: 2 });
    // Backoff: the retry was scheduled the first delay (1 s) after the failure.
    const retries = ctx.logs.filter((l) => l.event === 'alert_retry' && l.alertId === id);
    expect(retries).toEqual([expect.objectContaining({ status: 500, attempt: 1, delayMs: 1000 })]);
    // The URL (webhook URLs often carry a token) and the secret never reach the log.
    const logText = JSON.stringify(ctx.logs);
    expect(logText).not.toContain(receiver.url);
    expect(logText).not.toContain(SECRET);
  });

  it('a delivered alert is listed as alert_sent in GET /admin/security-events, never alerted', async () => {
    const admin = await createAdmin(ctx.app, ctx.database.db, clock);
    const id = await raiseEvent(ctx);
    await until(() => attemptsOf(receiver, id).some((r) => r.status === 200));

    // Recorded once the receiver answered 200, just after the request that raised the event.
    let listed: { type: string; userId: string | null; detail: Record<string, unknown> }[] = [];
    await until(() => ctx.logs.some((l) => l.event === 'alert_sent' && l.alertId === id));
    const deadline = Date.now() + 20_000;
    while (!listed.some((e) => e.detail.alertId === id)) {
      if (Date.now() > deadline) throw new Error('alert_sent not listed in time');
      const res = await ctx.app.inject({
        method: 'GET',
        url: '/admin/security-events?type=alert_sent',
        headers: admin.headers,
      });
      expect(res.statusCode).toBe(200);
      listed = res.json().items;
      if (!listed.some((e) => e.detail.alertId === id)) await sleep(50);
    }
    const sent = listed.filter((e) => e.detail.alertId === id);
    expect(sent).toEqual([
      expect.objectContaining({
        type: 'alert_sent',
        userId: null,
        detail: { alertId: id, alertType: 'account_throttled', attempt: 1 },
      }),
    ]);
    // The alert_sent event itself is not POSTed (an alert about an alert would loop). Had it
    // been, it would have been queued before this sentinel, raised after it was recorded.
    const sentinel = await raiseEvent(ctx);
    await until(() => attemptsOf(receiver, sentinel).some((r) => r.status === 200));
    const types = receiver.received.map((r) => JSON.parse(r.body).type);
    expect(types).not.toContain('alert_sent');
    expect(types).toContain('account_throttled');
  });

  it('a tampered body or a replay outside the tolerance fails verification', async () => {
    const id = await raiseEvent(ctx);
    await until(() => attemptsOf(receiver, id).length > 0);
    const r = attemptsOf(receiver, id)[0] as Received;
    const header = signatureOf(r);
    expect(verifyAlertSignature(SECRET, header, r.body, TOLERANCE_SECONDS)).toBe(true);
    const tampered = r.body.replace('"127.0.0.1"', '"10.0.0.1"');
    expect(tampered).not.toBe(r.body);
    expect(verifyAlertSignature(SECRET, header, tampered, TOLERANCE_SECONDS)).toBe(false);
    const t = Number(/t=(\d+)/.exec(header)?.[1]);
    expect(
      verifyAlertSignature(SECRET, header, r.body, TOLERANCE_SECONDS, t + TOLERANCE_SECONDS + 1),
    ).toBe(false);
  });

  it('a receiver that hangs does not delay the request that raised the event', async () => {
    receiver.plan.push('hang');
    const id = await raiseEvent(ctx);
    // The login has answered while the receiver holds the delivery open: had the request waited
    // on it, the sender's timeout (5 s) would have aborted the delivery first.
    await until(() => attemptsOf(receiver, id).length > 0);
    const pending = attemptsOf(receiver, id)[0] as Received;
    expect(pending.status).toBeUndefined();
    expect(pending.abandoned).toBe(false);
    expect(verifyAlertSignature(SECRET, signatureOf(pending), pending.body, 300)).toBe(true);
    // Other requests keep being served while the delivery hangs.
    const live = await ctx.app.inject({ method: 'GET', url: '/health/live' });
    expect(live.statusCode).toBe(200);
    // Answered now, so no retry of it reaches another test's plan.
    receiver.release();
    await until(() => ctx.logs.some((l) => l.event === 'alert_sent' && l.alertId === id));
  });
});

describe('closing an alerting app', () => {
  let receiver: Receiver;
  let ctx: TestContext;
  beforeAll(async () => {
    receiver = await startReceiver();
    ctx = await alertingApp(receiver);
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    await receiver?.close();
  });

  it('aborts deliveries in flight and cancels pending retries', async () => {
    receiver.plan.push('hang');
    const hungId = await raiseEvent(ctx);
    await until(() => attemptsOf(receiver, hungId).length === 1);
    const hung = attemptsOf(receiver, hungId)[0] as Received;
    receiver.fallback = 'fail';
    const failedId = await raiseEvent(ctx);
    await until(() => attemptsOf(receiver, failedId).some((r) => r.status === 500));
    // That delivery now waits a second (the first retry delay) for its retry.

    await ctx.close();
    await until(() => hung.abandoned, 3000);
    expect(ctx.logs.some((l) => l.event === 'alerts_abandoned' && l.count === 2)).toBe(true);

    // Sentinel: a sender with the same first retry delay whose first attempt fails after the
    // close; its retry is due after the cancelled one would have been, so once it has arrived,
    // the cancelled retry would have too.
    receiver.plan.push('fail');
    receiver.fallback = 'ok';
    const sentinel = new AlertSender(
      { url: receiver.url, secret: SECRET },
      pino(logCollector().stream),
      {
        retryDelaysMs: [1000],
      },
    );
    try {
      const sentinelId = uuidv7();
      sentinel.send({ id: sentinelId, type: 'unauthorized_burst', at: new Date() });
      await until(() => attemptsOf(receiver, sentinelId).some((r) => r.status === 200));
    } finally {
      sentinel.close();
    }
    expect(attemptsOf(receiver, failedId)).toHaveLength(1);
    expect(attemptsOf(receiver, hungId)).toHaveLength(1);
  });
});

describe('AlertSender queue bound', () => {
  it('drops the oldest alert beyond the bound, with a warning', async () => {
    const receiver = await startReceiver();
    receiver.fallback = 'hang';
    const { stream, lines } = logCollector();
    const sender = new AlertSender({ url: receiver.url, secret: SECRET }, pino(stream), {
      maxQueue: 2,
      concurrency: 1,
    });
    try {
      const ids = [uuidv7(), uuidv7(), uuidv7(), uuidv7()];
      for (const id of ids) sender.send({ id, type: 'unauthorized_burst', at: new Date() });
      // Dropped synchronously by send(): no waiting.
      const dropped = lines.filter((l) => l.event === 'alert_dropped');
      expect(dropped.map((l) => l.alertId)).toEqual([ids[0], ids[1]]);
      expect(dropped.every((l) => l.level === 40)).toBe(true);
      // The newest two remain: one in flight (hanging), one waiting for a slot.
      await until(() => receiver.received.length === 1);
      expect(JSON.parse((receiver.received[0] as Received).body).id).toBe(ids[2]);
    } finally {
      sender.close();
      await receiver.close();
    }
  });
});
