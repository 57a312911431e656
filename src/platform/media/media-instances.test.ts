/**
 * Shared media (issue 17): two instances on one database (PostgreSQL when DATABASE_URL is set)
 * and one Redis, each with a DATA_DIR of its own, as two hosts would have. An avatar uploaded
 * through A is served by B with the same bytes and headers, B answers a conditional request with
 * 304, a replaced avatar's old URL is 404 on both, and deleting the account (self or admin)
 * removes the stored bytes. An image an older version left in B's DATA_DIR/media/ is moved into
 * the table when B starts, and A serves it.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createActor, createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { solidImage } from '../../../test/support/images.js';
import { SETUP_TIMEOUT_MS } from '../../../test/support/mfa.js';
import { imageUpload } from '../../../test/support/multipart.js';
import {
  ENV_REDIS_URL,
  openTestDatabase,
  openTestState,
  randomPrefix,
  type TestDatabase,
} from '../../../test/support/services.js';
import { manualClock } from '../clock.js';
import type { SharedState } from '../state/shared-state.js';
import { mediaEtag } from './media.store.js';

const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
const dirA = mkdtempSync(join(tmpdir(), 'bastion-media-a-'));
const dirB = mkdtempSync(join(tmpdir(), 'bastion-media-b-'));
/** What a version before issue 17 left in B's own DATA_DIR/media/. */
const legacyName = `${'L'.repeat(43)}.webp`;
let legacyBytes: Buffer;

let database: TestDatabase;
let stateA: SharedState;
let stateB: SharedState;
let a: TestContext;
let b: TestContext;

beforeAll(async () => {
  legacyBytes = await solidImage(3, 3, 'webp');
  mkdirSync(join(dirB, 'media'));
  writeFileSync(join(dirB, 'media', legacyName), legacyBytes);
  database = await openTestDatabase();
  const prefix = randomPrefix();
  stateA = await openTestState(prefix);
  // One connection per instance on Redis; in memory, instances in one process share one state.
  stateB = ENV_REDIS_URL ? await openTestState(prefix) : stateA;
  a = await createTestApp({ database, state: stateA, env: { DATA_DIR: dirA }, deps: { clock } });
  b = await createTestApp({ database, state: stateB, env: { DATA_DIR: dirB }, deps: { clock } });
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await a?.close();
  await b?.close();
  await stateA?.close();
  if (stateB !== stateA) await stateB?.close();
  await database?.close();
  rmSync(dirA, { recursive: true, force: true });
  rmSync(dirB, { recursive: true, force: true });
});

async function uploadAvatar(on: TestContext, user: Actor, color: number): Promise<string> {
  const image = await solidImage(8 + color, 8);
  const upload = imageUpload(image);
  const res = await on.app.inject({
    method: 'PUT',
    url: '/users/me/avatar',
    headers: { ...user.headers, ...upload.headers },
    payload: upload.payload,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().avatarUrl;
}

const get = (on: TestContext, url: string, headers: Record<string, string> = {}) =>
  on.app.inject({ method: 'GET', url, headers });

/** The headers a client and a cache act on: what every instance must answer alike. */
const CACHE_HEADERS = [
  'content-type',
  'content-length',
  'etag',
  'cache-control',
  'x-content-type-options',
  'content-security-policy',
  'cross-origin-resource-policy',
];
const cacheHeadersOf = (res: LightMyRequestResponse) =>
  Object.fromEntries(CACHE_HEADERS.map((h) => [h, res.headers[h]]));

async function storedNames(): Promise<string[]> {
  const rows = await database.db.selectFrom('media').select('name').execute();
  return rows.map((r) => r.name);
}

const nameOf = (url: string) => url.slice('/media/'.length);

describe('an avatar uploaded through one instance', () => {
  it('is served by the other with the same bytes and headers, and 304 to a conditional GET', async () => {
    const user = await createActor(a.app, database.db, { prefix: 'media' });
    const url = await uploadAvatar(a, user, 0);
    // A's own DATA_DIR holds nothing: the bytes are in the shared database.
    expect(readdirSync(dirA)).not.toContain('media');

    const fromA = await get(a, url);
    const fromB = await get(b, url);
    expect(fromA.statusCode).toBe(200);
    expect(fromB.statusCode, fromB.body).toBe(200);
    expect(fromB.rawPayload.equals(fromA.rawPayload)).toBe(true);
    expect(cacheHeadersOf(fromB)).toEqual(cacheHeadersOf(fromA));
    expect(cacheHeadersOf(fromB)).toMatchObject({
      'content-type': 'image/webp',
      etag: mediaEtag(fromB.rawPayload),
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      'content-security-policy': 'sandbox',
    });

    const etag = String(fromA.headers.etag);
    for (const condition of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await get(b, url, { 'if-none-match': condition });
      expect(again.statusCode, condition).toBe(304);
      expect(again.rawPayload.length).toBe(0);
      expect(again.headers.etag).toBe(etag);
      expect(again.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    }
    // A tag that is not this image's: the whole image again.
    const stale = await get(b, url, { 'if-none-match': '"not-this-one"' });
    expect(stale.statusCode).toBe(200);
    expect(stale.rawPayload.equals(fromA.rawPayload)).toBe(true);
  });

  it('once replaced, its old URL is 404 on both instances, a conditional GET included', async () => {
    const user = await createActor(a.app, database.db, { prefix: 'media-replace' });
    const first = await uploadAvatar(a, user, 1);
    const etag = String((await get(b, first)).headers.etag);
    const second = await uploadAvatar(b, user, 2);
    expect(second).not.toBe(first);
    for (const on of [a, b]) {
      expect((await get(on, first)).statusCode).toBe(404);
      expect((await get(on, first, { 'if-none-match': etag })).statusCode).toBe(404);
      expect((await get(on, second)).statusCode).toBe(200);
    }
    const names = await storedNames();
    expect(names).not.toContain(nameOf(first));
    expect(names).toContain(nameOf(second));
  });
});

describe('deleting the account removes the stored image', () => {
  it('self-service deletion through the other instance', async () => {
    const user = await createActor(a.app, database.db, { prefix: 'media-leaving' });
    const url = await uploadAvatar(a, user, 3);
    expect(await storedNames()).toContain(nameOf(url));
    const res = await b.app.inject({ method: 'DELETE', url: '/users/me', headers: user.headers });
    expect(res.statusCode, res.body).toBe(204);
    expect(await storedNames()).not.toContain(nameOf(url));
    expect((await get(a, url)).statusCode).toBe(404);
    expect((await get(b, url)).statusCode).toBe(404);
  });

  it('an administrator deleting it through the other instance', async () => {
    const admin = await createAdmin(b.app, database.db, clock);
    const user = await createActor(a.app, database.db, { prefix: 'media-removed' });
    const url = await uploadAvatar(a, user, 4);
    const res = await b.app.inject({
      method: 'DELETE',
      url: `/admin/users/${user.userId}`,
      headers: admin.headers,
    });
    expect(res.statusCode, res.body).toBe(204);
    expect(await storedNames()).not.toContain(nameOf(url));
    expect((await get(a, url)).statusCode).toBe(404);
  });
});

describe("an older version's files in DATA_DIR/media/", () => {
  it('are moved into the table when an instance starts, and every instance serves them', async () => {
    const res = await get(a, `/media/${legacyName}`);
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(legacyBytes)).toBe(true);
    expect(res.headers.etag).toBe(mediaEtag(legacyBytes));
    // Moved, not copied: B's directory no longer holds it.
    expect(readdirSync(dirB)).not.toContain('media');
  });
});
