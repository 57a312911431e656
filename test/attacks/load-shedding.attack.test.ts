/**
 * A credential-stuffing flood against POST /auth/login (issue 5): while load shedding refuses
 * the flood with 503 `overloaded`, the owner of a known device still logs in; a forged device
 * cookie, another account's cookie or a cookie signed with another key buys no exemption. The
 * flood's refusals are cheap: a login refused by a limiter, by load shedding or by a full hash
 * pool never looks its account up, and a 503 does not spend the address's or account's budget.
 */
import { randomBytes } from 'node:crypto';
import { type KyselyPlugin, type RootOperationNode, TableNode } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { issueDeviceCookie } from '../../src/auth/accounts/device-cookie.js';
import type { Db } from '../../src/platform/db/database.js';
import { LOAD_SAMPLE_INTERVAL_MS } from '../../src/platform/load-shedding.js';
import {
  attemptLogin,
  DEVICE_COOKIE,
  deviceCookieOf,
  expectRateLimited,
  expectStatus,
  REAL_LOGIN_LIMITS,
  randomIPv4,
  throwawayEmail,
  WRONG_PASSWORD,
} from '../support/abuse.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { registerAndVerify } from '../support/auth.js';
import { openTestDatabase, type TestDatabase } from '../support/services.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';

/** Building an app takes tens of seconds on a loaded two-core machine. */
const BUILD_TIMEOUT_MS = 180_000;

/** Counts the queries that read the users table (a login's account look-up). */
function countUserReads(db: Db): { db: Db; reads: number } {
  const counter = { db, reads: 0 };
  const readsUsers = (node: RootOperationNode) =>
    node.kind === 'SelectQueryNode' &&
    (node.from?.froms ?? []).some(
      (from) => TableNode.is(from) && from.table.identifier.name === 'users',
    );
  const plugin: KyselyPlugin = {
    transformQuery(args) {
      if (readsUsers(args.node)) counter.reads++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  counter.db = db.withPlugin(plugin);
  return counter;
}

let smtp: TestSmtp;
let shedding: TestContext; // load shedding at the production thresholds
let limited: TestContext; // real login limits, room for one hash and no queue; no shedding
let database: TestDatabase;
let users: ReturnType<typeof countUserReads>;

beforeAll(async () => {
  smtp = await startTestSmtp();
  database = await openTestDatabase();
  users = countUserReads(database.db);
  shedding = await createTestApp({
    database,
    deps: { db: users.db },
    env: {
      SMTP_URL: smtp.url,
      LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '1000',
      LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0.98',
    },
  });
  limited = await createTestApp({
    env: { SMTP_URL: smtp.url, ...REAL_LOGIN_LIMITS, HASH_CONCURRENCY: '1', HASH_QUEUE: '0' },
    database,
    deps: { db: users.db },
  });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await limited?.close();
  await shedding?.close();
  await database?.close();
  await smtp?.close();
});
beforeEach(async () => {
  // Pressure from the previous test lasts until the next sample.
  for (let waited = 0; shedding.app.isUnderPressure() && waited < 10_000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
  }
  users.reads = 0;
});

/** Busy-waits in 20 ms slices, yielding through setImmediate so requests still progress. */
async function busyUntil(stop: () => boolean): Promise<void> {
  while (!stop()) {
    const slice = Date.now() + 20;
    while (Date.now() < slice) {
      // busy
    }
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Runs `work` while the event loop is saturated (as under a flood): saturates for more than two
 * samples first, keeps it saturated throughout, and checks the server saw pressure all along.
 */
async function underPressure<T>(work: () => Promise<T>): Promise<T> {
  const until = Date.now() + LOAD_SAMPLE_INTERVAL_MS * 2.3;
  await busyUntil(() => Date.now() >= until);
  expect(shedding.app.isUnderPressure()).toBe(true);
  let done = false;
  const busy = busyUntil(() => done);
  try {
    const result = await work();
    expect(shedding.app.isUnderPressure()).toBe(true);
    return result;
  } finally {
    done = true;
    await busy;
  }
}

describe('attack: a flood that saturates the server (load shedding, issue 5)', () => {
  it('the owner on a known device logs in; the attacker gets 503 and costs no look-up', async () => {
    // Set-up on the app without shedding: on a loaded CI machine the shedding app may itself be
    // under pressure between tests. Both apps share the master key, so the cookie is valid on both.
    const owner = await registerAndVerify(limited.app, smtp);
    const first = await attemptLogin(limited.app, owner);
    expectStatus(first, 200);
    const device = deviceCookieOf(first);
    users.reads = 0;

    const [known, attacker] = await underPressure(() =>
      Promise.all([
        attemptLogin(shedding.app, { ...owner, cookie: device }),
        attemptLogin(shedding.app, { ...owner, password: WRONG_PASSWORD, ip: randomIPv4() }),
      ]),
    );
    expectStatus(known, 200);
    expect(known.json().user.email).toBe(owner.email);
    expectStatus(attacker, 503, 'overloaded');
    expect(attacker.headers['retry-after']).toBe('1');
    expect(users.reads).toBe(1); // the owner's look-up only
  });

  it('a forged, misdirected or foreign-key device cookie gets 503 like any flood request', async () => {
    const owner = await registerAndVerify(limited.app, smtp);
    const other = await registerAndVerify(limited.app, smtp);
    const ownerDevice = deviceCookieOf(await attemptLogin(limited.app, owner));
    const [nonce, mac] = ownerDevice.slice(DEVICE_COOKIE.length + 1).split('.');
    const flipped = `${mac?.startsWith('A') ? 'B' : 'A'}${mac?.slice(1)}`;
    const cookies = {
      tampered: `${DEVICE_COOKIE}=${nonce}.${flipped}`,
      // The attacker's own valid cookie, for the account they flood.
      otherAccount: ownerDevice,
      foreignKey: `${DEVICE_COOKIE}=${issueDeviceCookie(randomBytes(32), other.email)}`,
      garbage: `${DEVICE_COOKIE}=x.y`,
    };
    users.reads = 0;

    const results = await underPressure(() =>
      Promise.all(
        Object.values(cookies).map((cookie) =>
          attemptLogin(shedding.app, { ...other, cookie, ip: randomIPv4() }),
        ),
      ),
    );
    for (const res of results) expectStatus(res, 503, 'overloaded');
    expect(users.reads).toBe(0);
  });
});

describe('attack: refusals stay cheap and free (issue 5)', () => {
  it('logins refused by the per-IP limit or the account backoff never look the account up', async () => {
    const ip = randomIPv4();
    for (let i = 0; i < 20; i++) {
      const res = await attemptLogin(limited.app, {
        email: throwawayEmail(),
        password: WRONG_PASSWORD,
        ip,
      });
      expectStatus(res, 401, 'invalid_credentials');
    }
    const victim = await registerAndVerify(limited.app, smtp);
    for (let i = 0; i < 10; i++) {
      const res = await attemptLogin(limited.app, {
        ...victim,
        password: WRONG_PASSWORD,
        ip: randomIPv4(),
      });
      expectStatus(res, 401, 'invalid_credentials');
    }
    users.reads = 0;
    // At once: the first backoff lasts 1 s.
    expectRateLimited(await attemptLogin(limited.app, { ...victim, ip: randomIPv4() }));
    for (let i = 0; i < 5; i++) {
      expectRateLimited(
        await attemptLogin(limited.app, { email: throwawayEmail(), password: WRONG_PASSWORD, ip }),
      );
    }
    expect(users.reads).toBe(0);
  });

  it('a burst refused 503 by the full hash pool does not spend the address budget', async () => {
    const ip = randomIPv4();
    users.reads = 0;
    // Fewer than the address's 20 failures, so no guess of the burst is refused by the address
    // limit itself (a refused consume still counts in rate-limiter-flexible, and with Redis the
    // whole burst reaches the limiter before any answer).
    const burst = await Promise.all(
      Array.from({ length: 15 }, () =>
        attemptLogin(limited.app, { email: throwawayEmail(), password: WRONG_PASSWORD, ip }),
      ),
    );
    const statuses = burst.map((r) => r.statusCode);
    const wrong = statuses.filter((s) => s === 401).length;
    expect(statuses.filter((s) => s === 503).length, String(statuses)).toBeGreaterThan(0);
    // Only the guesses that were hashed looked their account up.
    expect(users.reads).toBe(wrong);
    expect(
      statuses.every((s) => s === 401 || s === 503),
      String(statuses),
    ).toBe(true);

    // Exactly the 20 - (401s) failures the address has left, then 429.
    for (let i = wrong; i < 20; i++) {
      const res = await attemptLogin(limited.app, {
        email: throwawayEmail(),
        password: WRONG_PASSWORD,
        ip,
      });
      expectStatus(res, 401, 'invalid_credentials');
    }
    expectRateLimited(
      await attemptLogin(limited.app, { email: throwawayEmail(), password: WRONG_PASSWORD, ip }),
      20,
    );
  });

  it('a burst refused 503 on one account does not bring its backoff closer', async () => {
    const victim = await registerAndVerify(limited.app, smtp);
    users.reads = 0;
    const burst = await Promise.all(
      Array.from({ length: 8 }, () =>
        attemptLogin(limited.app, { ...victim, password: WRONG_PASSWORD, ip: randomIPv4() }),
      ),
    );
    const statuses = burst.map((r) => r.statusCode);
    const wrong = statuses.filter((s) => s === 401).length;
    expect(statuses.filter((s) => s === 503).length, String(statuses)).toBeGreaterThan(0);
    // Only the guesses that were hashed looked their account up.
    expect(users.reads).toBe(wrong);
    expect(
      statuses.every((s) => s === 401 || s === 503),
      String(statuses),
    ).toBe(true);

    // The account still has 10 - (401s) free failures; the one after them is throttled.
    for (let i = wrong; i < 10; i++) {
      const res = await attemptLogin(limited.app, {
        ...victim,
        password: WRONG_PASSWORD,
        ip: randomIPv4(),
      });
      expectStatus(res, 401, 'invalid_credentials');
    }
    expectRateLimited(await attemptLogin(limited.app, { ...victim, ip: randomIPv4() }));
  });

  it('account_throttled names the account owner when the account exists', async () => {
    const victim = await registerAndVerify(limited.app, smtp);
    const unknown = throwawayEmail();
    for (const email of [victim.email, unknown]) {
      for (let i = 0; i < 10; i++) {
        const res = await attemptLogin(limited.app, {
          email,
          password: WRONG_PASSWORD,
          ip: randomIPv4(),
        });
        expectStatus(res, 401, 'invalid_credentials');
      }
    }
    const rows = await limited.database.db
      .selectFrom('security_events')
      .select(['user_id', 'ip'])
      .where('type', '=', 'account_throttled')
      .orderBy('created_at', 'desc')
      .limit(2)
      .execute();
    expect(rows.map((r) => r.user_id)).toEqual([null, victim.userId]);
  });
});
