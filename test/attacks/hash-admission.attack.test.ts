/**
 * Melting the server with password hashes (issue 5; DESIGN.md, Abuse resistance): with real
 * argon2id parameters and room for one hash plus one waiter, a burst of logins is answered at
 * once: what fits is hashed, the rest gets 503 `overloaded` with `Retry-After` straight away,
 * nothing hangs and nothing becomes a 500. A login from a known device goes ahead of the queue.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  attemptLogin,
  codeOf,
  deviceCookieOf,
  expectStatus,
  randomIPv4,
  throwawayEmail,
  WRONG_PASSWORD,
} from '../support/abuse.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { registerAndVerify } from '../support/auth.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';

/**
 * argon2's `verify`, held at a gate the test opens: while it is shut, the hash in the one slot
 * cannot finish, so every answer that arrives meanwhile was given without waiting for a hash.
 * The real function still does the work once the gate opens.
 */
const gate = vi.hoisted(() => {
  let shut: Promise<void> = Promise.resolve();
  let open = () => {};
  return {
    started: 0,
    finished: 0,
    shut() {
      shut = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
    open: () => open(),
    passed: () => shut,
  };
});
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/argon2')>();
  return {
    ...real,
    async verify(...args: Parameters<typeof real.verify>) {
      gate.started++;
      try {
        await gate.passed();
        return await real.verify(...args);
      } finally {
        gate.finished++;
      }
    },
  };
});

/** DESIGN.md's production cost (OWASP's argon2id minimum). */
const REAL_ARGON2 = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
const BURST = 10;

let smtp: TestSmtp;
let ctx: TestContext;

beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({
    env: { SMTP_URL: smtp.url, HASH_CONCURRENCY: '1', HASH_QUEUE: '1' },
    deps: { argon2: REAL_ARGON2 },
  });
});
afterAll(async () => {
  gate.open();
  await ctx?.close();
  await smtp?.close();
});

/** Fails the test instead of waiting for vitest's timeout when a request hangs. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  await within(
    15_000,
    (async () => {
      while (!condition()) await new Promise((r) => setTimeout(r, 10));
    })(),
  ).catch(() => {
    throw new Error(`${what}: not reached`);
  });
}

describe('attack: a burst of logins against one hashing slot', () => {
  it('what does not fit is refused at once with 503 overloaded; nothing hangs or fails', async () => {
    // One slot and one waiter: the first hash holds the slot (its verify waits at the gate), the
    // next login waits for it, and every other one must be refused while no hash has finished.
    gate.shut();
    const finishedBefore = gate.finished;
    const answered: LightMyRequestResponse[] = [];
    const burst = Array.from({ length: BURST }, () =>
      attemptLogin(ctx.app, {
        email: throwawayEmail(),
        password: WRONG_PASSWORD,
        ip: randomIPv4(),
      }).then((res) => {
        answered.push(res);
        return res;
      }),
    );
    try {
      await until(() => answered.length >= BURST - 2, 'the refusals while the slot is held');
      expect(gate.finished).toBe(finishedBefore);
    } finally {
      gate.open();
    }
    const refused = answered.slice();
    for (const res of refused) {
      expect(codeOf(res)).toBe('overloaded');
      expect(res.statusCode).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    // Once the gate opens, the two admitted logins are hashed and answered; nothing is a 500.
    const results = await within(15_000, Promise.all(burst));
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(2);
    expect(statuses.filter((s) => s === 503)).toHaveLength(BURST - 2);

    // And the server is fine afterwards.
    const after = await attemptLogin(ctx.app, {
      email: throwawayEmail(),
      password: WRONG_PASSWORD,
      ip: randomIPv4(),
    });
    expectStatus(after, 401, 'invalid_credentials');
  });

  it('a login from a known device gets through a full queue of guesses', async () => {
    const owner = await registerAndVerify(ctx.app, smtp);
    const ip = randomIPv4();
    const first = await attemptLogin(ctx.app, { ...owner, ip });
    expectStatus(first, 200);
    const cookie = deviceCookieOf(first);

    for (let round = 0; round < 3; round++) {
      const guesses = Array.from({ length: BURST }, () =>
        attemptLogin(ctx.app, {
          email: throwawayEmail(),
          password: WRONG_PASSWORD,
          ip: randomIPv4(),
        }),
      );
      // The owner arrives last, when the slot and the queue are already taken.
      const all = await within(
        15_000,
        Promise.all([...guesses, attemptLogin(ctx.app, { ...owner, ip, cookie })]),
      );
      const known = all.pop() as LightMyRequestResponse;
      const rest = all;
      expectStatus(known, 200);
      expect(rest.some((r) => r.statusCode === 503)).toBe(true);
      expect(rest.every((r) => r.statusCode === 401 || r.statusCode === 503)).toBe(true);
    }
  });
});
