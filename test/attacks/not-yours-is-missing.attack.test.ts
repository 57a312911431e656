/**
 * SECURITY-CHECKLIST AZ-01: another user's private object answers exactly as a missing one (the
 * same status, headers and body but for the request id), so ids cannot be probed for existence.
 */
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/platform/clock.js';
import type { Actor } from '../support/actors.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { SETUP_TIMEOUT_MS } from '../support/mfa.js';
import { WEBHOOK_SECRET } from '../support/shop.js';
import { World } from '../support/world.js';

let ctx: TestContext;
let world: World;
let owner: Actor;
let intruder: Actor;
const clock = manualClock();

beforeAll(async () => {
  ctx = await createTestApp({ env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET }, deps: { clock } });
  world = new World(ctx.app, ctx.database.db, clock);
  owner = await world.fresh('owner');
  intruder = await world.fresh('other');
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

/** What a client can compare: status, headers (bar per-response ones) and body (bar requestId). */
function observable(res: LightMyRequestResponse) {
  const { date: _d, 'content-length': _l, ...headers } = res.headers;
  const { requestId: _r, ...body } = res.json() as Record<string, unknown>;
  return { status: res.statusCode, headers, body };
}

async function expectSameAsMissing(
  method: 'GET' | 'DELETE',
  path: (id: string) => string,
  id: string,
) {
  const theirs = await ctx.app.inject({ method, url: path(id), headers: intruder.headers });
  const missing = await ctx.app.inject({
    method,
    url: path(randomUUID()),
    headers: intruder.headers,
  });
  expect(theirs.statusCode).toBe(404);
  expect(observable(theirs)).toEqual(observable(missing));
  expect(theirs.body.length).toBe(missing.body.length);
}

describe("another user's object is indistinguishable from a missing one", () => {
  it('GET /orders/:id', async () => {
    await expectSameAsMissing('GET', (id) => `/orders/${id}`, await world.order(owner));
  });

  it('DELETE /auth/sessions/:id', async () => {
    await expectSameAsMissing('DELETE', (id) => `/auth/sessions/${id}`, world.sessionOf(owner));
    // And the owner's session still works.
    const me = await ctx.app.inject({ url: '/auth/me', headers: owner.headers });
    expect(me.statusCode).toBe(200);
  });
});
