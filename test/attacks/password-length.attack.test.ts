/**
 * Over-long passwords on every route that takes one (issue 14, item 11): over the maximum (256
 * code points) is 400 `weak_password` with `rule: "too_long"` whatever the length (1 KiB, 200 KB:
 * no `validation_failed` at 1024 characters any more), refused at validation, before any hash;
 * a body over 1 MiB stays 413 `payload_too_large`. 256 code points are still accepted.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHashPool, type HashPool } from '../../src/platform/hash-pool.js';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  expectProblem,
  expectWeakPassword,
  post,
} from '../support/accounts.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { bearer, type LoggedIn, signUp, uniqueEmail } from '../support/auth.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';

/** The real pool, counting the tasks it is asked to run. */
function countingPool() {
  const inner = createHashPool({ concurrency: 2, queue: 32 });
  const counter = { runs: 0 };
  const pool: HashPool = {
    run(task, options) {
      counter.runs++;
      return inner.run(task, options);
    },
    hasRoom: (options) => inner.hasRoom(options),
    get active() {
      return inner.active;
    },
    get queued() {
      return inner.queued;
    },
    heldBy: (owner) => inner.heldBy(owner),
  };
  return { pool, counter };
}

let smtp: TestSmtp;
let ctx: TestContext;
let session: LoggedIn;
const { pool, counter } = countingPool();

beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: accountTestEnv(smtp), deps: { hashPool: pool } });
  session = await signUp(ctx.app, smtp);
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

/** Every route that accepts a password, with `pw` in its password field. */
function routes(pw: string): [string, () => Promise<LightMyRequestResponse>][] {
  return [
    [
      'register',
      () =>
        post(ctx.app, '/auth/register', {
          email: uniqueEmail('long'),
          password: pw,
          displayName: 'Long',
        }),
    ],
    ['login', () => post(ctx.app, '/auth/login', { email: session.email, password: pw })],
    [
      'reset',
      () => post(ctx.app, '/auth/password/reset', { token: 'A'.repeat(43), newPassword: pw }),
    ],
    [
      'verify-email',
      () => post(ctx.app, '/auth/verify-email', { token: 'A'.repeat(43), password: pw }),
    ],
    [
      'change (new)',
      () =>
        post(
          ctx.app,
          '/auth/password/change',
          { currentPassword: session.password, newPassword: pw },
          bearer(session.accessToken),
        ),
    ],
    [
      'change (current)',
      () =>
        post(
          ctx.app,
          '/auth/password/change',
          { currentPassword: pw, newPassword: 'amber-falcon-sings-over-7-quiet-bridges' },
          bearer(session.accessToken),
        ),
    ],
  ];
}

const LENGTHS: [string, string][] = [
  ['257 code points', 'x'.repeat(257)],
  ['257 emoji (514 UTF-16 units)', '🔐'.repeat(257)],
  ['1025 characters', 'y'.repeat(1025)],
  ['1 KiB + 1', 'z'.repeat(1024 + 1)],
  ['5,000 characters', 'correct horse battery staple '.repeat(200).slice(0, 5000)],
  ['200 KB', 'w'.repeat(200_000)],
  ['a ligature that NFKC expands past 256', '\uFDFA'.repeat(20)],
];

describe('attack: over-long passwords are weak_password too_long on every route', () => {
  for (const [label, pw] of LENGTHS) {
    it(`${label}: 400 weak_password rule too_long, nothing hashed`, async () => {
      for (const [route, send] of routes(pw)) {
        const before = counter.runs;
        const res = await send();
        expect(`${route}: ${res.statusCode}`).toBe(`${route}: 400`);
        expectWeakPassword(res, 'too_long');
        expect(`${route}: ${counter.runs - before} hashes`).toBe(`${route}: 0 hashes`);
      }
    });
  }

  it('a body over 1 MiB is still 413 payload_too_large', async () => {
    for (const [, send] of routes('v'.repeat(1024 * 1024 + 1))) {
      expectProblem(await send(), 413, 'payload_too_large');
    }
  });

  it('256 code points pass the length check (register accepts them)', async () => {
    // A strong start (only a prefix is scored), 100 emoji (200 UTF-16 units): 256 code points.
    const start = 'amber-falcon-sings-over-7-quiet-bridges-';
    const pw = `${start}${'🔐'.repeat(100)}${'q'.repeat(256 - 100 - start.length)}`;
    expect([...pw].length).toBe(256);
    const res = await post(ctx.app, '/auth/register', {
      email: uniqueEmail('exact'),
      password: pw,
      displayName: 'Exact',
    });
    expect(res.statusCode, res.body).toBe(202);
  });
});
