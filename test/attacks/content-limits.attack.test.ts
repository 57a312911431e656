/**
 * Per-account write limits: image uploads (each a decode and a re-encode by sharp) and posts and
 * comments are counted per account, so an attacker cannot spend the server's CPU or flood the
 * board by spreading requests over many addresses; other accounts are unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/platform/clock.js';
import { type Actor, createActor } from '../support/actors.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { solidImage } from '../support/images.js';
import { SETUP_TIMEOUT_MS } from '../support/mfa.js';
import { imageUpload } from '../support/multipart.js';

const LIMIT = 3;
let ctx: TestContext;
let attacker: Actor;
let bystander: Actor;
let png: Buffer;
const clock = manualClock();

beforeAll(async () => {
  ctx = await createTestApp({
    env: { RATE_LIMIT_UPLOADS_PER_HOUR: String(LIMIT), RATE_LIMIT_CONTENT_PER_HOUR: String(LIMIT) },
    deps: { clock },
  });
  attacker = await createActor(ctx.app, ctx.database.db, { prefix: 'attacker' });
  bystander = await createActor(ctx.app, ctx.database.db, { prefix: 'bystander' });
  png = await solidImage(16, 16);
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

/** Each request from a different address: the limit must follow the account. */
let address = 0;
function nextAddress(): string {
  address += 1;
  return `198.51.100.${address % 250}`;
}

function upload(actor: Actor) {
  const body = imageUpload(png);
  return ctx.app.inject({
    method: 'PUT',
    url: '/users/me/avatar',
    remoteAddress: nextAddress(),
    headers: { ...actor.headers, ...body.headers },
    payload: body.payload,
  });
}

function post(actor: Actor) {
  return ctx.app.inject({
    method: 'POST',
    url: '/posts',
    remoteAddress: nextAddress(),
    headers: actor.headers,
    payload: { title: 'spam', content: '<p>spam</p>' },
  });
}

describe('per-account write limits', () => {
  it(`avatar uploads: ${LIMIT} per hour, then 429 with Retry-After from any address`, async () => {
    for (let i = 0; i < LIMIT; i++) expect((await upload(attacker)).statusCode).toBe(200);
    const refused = await upload(attacker);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await upload(bystander)).statusCode).toBe(200);
  });

  it(`posts and comments share ${LIMIT} per hour`, async () => {
    const first = await post(attacker);
    expect(first.statusCode).toBe(201);
    const postId = first.json().id as string;
    for (let i = 1; i < LIMIT; i++) {
      const comment = await ctx.app.inject({
        method: 'POST',
        url: `/posts/${postId}/comments`,
        remoteAddress: nextAddress(),
        headers: attacker.headers,
        payload: { content: 'spam' },
      });
      expect(comment.statusCode).toBe(201);
    }
    const refused = await post(attacker);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('rate_limited');
    expect((await post(bystander)).statusCode).toBe(201);
  });
});
