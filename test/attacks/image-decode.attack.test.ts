/**
 * Image decodes are bounded (issue 14, item 8). A small PNG whose header claims huge dimensions is
 * refused from its header and never reaches the decoder; decodes run on a bounded queue that
 * answers 503 `overloaded` when full; every upload route, the product image included, counts in
 * the per-account upload limit. Proved by the queue's own count of decodes, not by timing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/platform/clock.js';
import { createDecodeQueue } from '../../src/platform/media/decode-queue.js';
import { type Actor, createActor, createAdmin } from '../support/actors.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { bombPng, solidImage } from '../support/images.js';
import { SETUP_TIMEOUT_MS } from '../support/mfa.js';
import { imageUpload } from '../support/multipart.js';
import { createProduct } from '../support/shop.js';

const UPLOAD_LIMIT = 4;
const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
// One decode at a time and one waiting, so a test can fill it with two tasks of its own.
const decodes = createDecodeQueue({ concurrency: 1, queue: 1 });
let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestApp({
    env: { RATE_LIMIT_UPLOADS_PER_HOUR: String(UPLOAD_LIMIT) },
    deps: { clock, imageDecodes: decodes },
  });
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

/** Each request from another address: what is limited must be the account. */
let address = 0;
function upload(url: string, actor: Actor, image: Buffer) {
  address += 1;
  const body = imageUpload(image);
  return ctx.app.inject({
    method: 'PUT',
    url,
    remoteAddress: `198.51.100.${address % 250}`,
    headers: { ...actor.headers, ...body.headers },
    payload: body.payload,
  });
}

async function adminWithProduct(): Promise<{ admin: Actor; url: string }> {
  const admin = await createAdmin(ctx.app, ctx.database.db, clock);
  return { admin, url: `/products/${await createProduct(ctx.app, admin.headers)}/image` };
}

function expectProblem(
  res: { statusCode: number; body: string; json(): unknown },
  status: number,
  code: string,
) {
  expect(res.statusCode, res.body).toBe(status);
  expect((res.json() as { code: string }).code).toBe(code);
}

describe('a decompression bomb is refused from its header', () => {
  it('huge declared dimensions: 422 image_too_large on both routes, and no decode ever starts', async () => {
    const user = await createActor(ctx.app, ctx.database.db, { prefix: 'bomber' });
    const { admin, url } = await adminWithProduct();
    const bomb = bombPng(100_000, 100_000);
    expect(bomb.length).toBeLessThan(64 * 1024);

    const before = decodes.started;
    for (const image of [bomb, bombPng(4097, 16), bombPng(16, 4097)]) {
      expectProblem(await upload('/users/me/avatar', user, image), 422, 'image_too_large');
    }
    expectProblem(await upload(url, admin, bomb), 422, 'image_too_large');
    expect(decodes.started).toBe(before);

    // The control: an image within the limits is decoded, on the same queue.
    const ok = await upload('/users/me/avatar', user, await solidImage(16, 16));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(decodes.started).toBe(before + 1);
  });
});

describe('the decode queue is bounded', () => {
  it('when it is full an upload is 503 overloaded with Retry-After, without decoding', async () => {
    const user = await createActor(ctx.app, ctx.database.db, { prefix: 'crowd' });
    const { admin, url } = await adminWithProduct();
    const png = await solidImage(16, 16);

    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holders = [decodes.run(() => gate), decodes.run(() => gate)];
    expect([decodes.active, decodes.queued]).toEqual([1, 1]);
    const before = decodes.started;
    try {
      for (const res of [
        await upload('/users/me/avatar', user, png),
        await upload(url, admin, png),
      ]) {
        expectProblem(res, 503, 'overloaded');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
      expect(decodes.started).toBe(before);
    } finally {
      release();
      await Promise.all(holders);
    }

    const again = await upload('/users/me/avatar', user, png);
    expect(again.statusCode, again.body).toBe(200);
  });
});

describe('every upload route counts in the per-account upload limit', () => {
  it(`PUT /products/:id/image: ${UPLOAD_LIMIT} per hour, then 429 from any address, before decoding`, async () => {
    const { admin, url } = await adminWithProduct();
    const png = await solidImage(16, 16);
    for (let i = 0; i < UPLOAD_LIMIT; i++) {
      const res = await upload(url, admin, png);
      expect(res.statusCode, res.body).toBe(200);
    }
    const before = decodes.started;
    const refused = await upload(url, admin, png);
    expectProblem(refused, 429, 'rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(decodes.started).toBe(before);
  });
});
