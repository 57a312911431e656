/**
 * Issue 19, attacks on the lifecycle webhooks, at the receiver side with the verification snippet
 * the README gives receivers (loaded from README.md): a forged signature (another secret, a
 * tampered body, a missing or malformed header) is refused; a replayed request with an old (or a
 * future) timestamp is refused; a replay inside the tolerance passes the signature but is a no-op
 * after de-duplication by id. At the sender side: a redirect is never followed (the signed event
 * never goes elsewhere), and the delivery list is for administrators only.
 */
import { request } from 'node:http';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS } from '../../../test/support/accounts.js';
import { createActor } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import {
  FAST_DELIVERY,
  type Receiver,
  readmeVerifier,
  startReceiver,
  until,
  type VerifyWebhook,
  WEBHOOK_SECRET,
} from '../../../test/support/lifecycle.js';
import { signAlert } from '../alerts.js';
import { emitLifecycle } from './lifecycle.js';

let receiver: Receiver;
let ctx: TestContext;
let verify: VerifyWebhook;
/** One genuine delivery, as captured on the wire. */
let genuine: { body: Buffer; signature: string };

beforeAll(async () => {
  verify = await readmeVerifier();
  receiver = await startReceiver();
  ctx = await createTestApp({
    env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET },
    deps: { lifecycleWorker: FAST_DELIVERY },
  });
  await emitLifecycle(ctx.database.db, {
    type: 'user.locked',
    userId: uuidv7(),
    data: { reason: 'attack test' },
  });
  await until('the genuine delivery', () => receiver.events.size === 1);
  const [raw] = receiver.raw;
  if (!raw?.signature) throw new Error('no signature on the genuine delivery');
  genuine = { body: raw.body, signature: raw.signature };
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await receiver?.close();
});

const now = () => Math.floor(Date.now() / 1000);

/** POSTs `body` with `signature` to the receiver as an attacker would; returns the status. */
function postToReceiver(body: Buffer, signature: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      receiver.url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(signature ? { 'bastion-signature': signature } : {}),
        },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('forged signatures are refused by the documented verification', () => {
  it('the genuine delivery verifies (the check is not a blanket refusal)', () => {
    expect(verify(WEBHOOK_SECRET, genuine.signature, genuine.body)).toBe(true);
    expect(genuine.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('another secret, a tampered body, no header, a malformed or truncated one: refused', () => {
    const t = now();
    const forgedUser = Buffer.from(
      genuine.body.toString().replace(/"userId":"[^"]+"/, `"userId":"${uuidv7()}"`),
    );
    expect(forgedUser.equals(genuine.body)).toBe(false);
    const v1 = genuine.signature.split('v1=')[1] ?? '';
    const cases: [string, string | undefined, Buffer][] = [
      [
        'signed with another secret',
        signAlert('not-the-secret-0123456789', genuine.body, t),
        genuine.body,
      ],
      ['tampered body, genuine signature', genuine.signature, forgedUser],
      ['no header', undefined, genuine.body],
      ['empty header', '', genuine.body],
      ['no timestamp', `v1=${v1}`, genuine.body],
      ['no signature', `t=${t}`, genuine.body],
      ['truncated signature', genuine.signature.slice(0, -2), genuine.body],
      ['non-hex signature', `t=${t},v1=${'z'.repeat(64)}`, genuine.body],
      [
        'a MAC made for another timestamp',
        `t=${t},v1=${signAlert(WEBHOOK_SECRET, genuine.body, t - 1).split('v1=')[1]}`,
        genuine.body,
      ],
    ];
    for (const [what, header, body] of cases) {
      expect(verify(WEBHOOK_SECRET, header, body), what).toBe(false);
    }
  });

  it('a forged request POSTed to the receiver is answered 400 and never handled', async () => {
    // Asserted on the forged id only: the worker may deliver other tests' events meanwhile.
    const forgedId = uuidv7();
    const forged = Buffer.from(
      JSON.stringify({
        id: forgedId,
        type: 'user.deleted',
        at: new Date().toISOString(),
        userId: uuidv7(),
        data: {},
      }),
    );
    expect(
      await postToReceiver(forged, signAlert('attacker-guess-0123456789', forged, now())),
    ).toBe(400);
    expect(await postToReceiver(forged, undefined)).toBe(400);
    expect(receiver.events.has(forgedId)).toBe(false);
  });
});

describe('replays', () => {
  it('a request replayed with its old timestamp (an hour ago, or in the future) is refused', () => {
    // Exactly what a captured request looks like an hour later: a valid MAC over an old stamp.
    const old = signAlert(WEBHOOK_SECRET, genuine.body, now() - 3600);
    expect(verify(WEBHOOK_SECRET, old, genuine.body)).toBe(false);
    const future = signAlert(WEBHOOK_SECRET, genuine.body, now() + 3600);
    expect(verify(WEBHOOK_SECRET, future, genuine.body)).toBe(false);
    // Inside the tolerance the same MAC passes: the refusal above is the timestamp's.
    expect(
      verify(WEBHOOK_SECRET, signAlert(WEBHOOK_SECRET, genuine.body, now() - 60), genuine.body),
    ).toBe(true);
  });

  it('a replay inside the tolerance passes the signature but changes nothing (dedupe by id)', async () => {
    // Only this event's id is asserted on: the worker may deliver other tests' events meanwhile.
    const { id } = JSON.parse(genuine.body.toString()) as { id: string };
    const copies = () =>
      receiver.raw.filter((d) => d.accepted && d.body.equals(genuine.body)).length;
    const firstCopy = receiver.events.get(id);
    const copiesBefore = copies();
    expect(firstCopy).toBeDefined();
    const fresh = signAlert(WEBHOOK_SECRET, genuine.body, now());
    expect(await postToReceiver(genuine.body, fresh)).toBe(200);
    expect(await postToReceiver(genuine.body, fresh)).toBe(200);
    expect(copies()).toBe(copiesBefore + 2);
    expect(receiver.events.get(id)).toBe(firstCopy);
    expect([...receiver.events.keys()].filter((k) => k === id)).toHaveLength(1);
  });
});

describe('the sender', () => {
  it('never follows a redirect: the event stays owed, with the 3xx kept as its status', async () => {
    receiver.mode = 'redirect';
    try {
      const userId = uuidv7();
      await emitLifecycle(ctx.database.db, { type: 'user.updated', userId });
      const row = () =>
        ctx.database.db
          .selectFrom('lifecycle_events')
          .selectAll()
          .where('user_id', '=', userId)
          .executeTakeFirstOrThrow();
      await until('the redirect answered', async () => (await row()).last_status === 302);
      expect((await row()).delivered_at).toBeNull();
    } finally {
      receiver.mode = 'ok';
    }
  });

  it('the delivery list is for administrators: anonymous 401, a user 403', async () => {
    const anonymous = await ctx.app.inject({ method: 'GET', url: '/admin/webhooks/deliveries' });
    expect(anonymous.statusCode).toBe(401);
    const user = await createActor(ctx.app, ctx.database.db);
    const res = await ctx.app.inject({
      method: 'GET',
      url: '/admin/webhooks/deliveries',
      headers: user.headers,
    });
    expect(res.statusCode).toBe(403);
    expect(res.body).not.toContain('user.');
  });

  it('the delivery list is in the OpenAPI document, with its bearer security and fields', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, { get?: { security?: unknown; responses?: Record<string, unknown> } }>;
    };
    const get = doc.paths['/admin/webhooks/deliveries']?.get;
    expect(get?.security).toEqual([{ bearer: [] }]);
    const schema = JSON.stringify(get?.responses?.['200']);
    for (const field of ['state', 'attempts', 'lastStatus', 'nextAttemptAt', 'deliveredAt']) {
      expect(schema).toContain(`"${field}"`);
    }
  });
});
