/**
 * Issue 19, delivery of the lifecycle outbox, at least once and once per event across instances,
 * to a real receiver on 127.0.0.1 that verifies signatures with the README's snippet and
 * de-duplicates by id:
 * - a receiver that is down (refused connections), then failing (503), then back gets every event
 *   exactly once after de-duplication; meanwhile attempts, the last error code and status are kept
 *   (never a response body);
 * - the server closed while the receiver holds requests open, then a new server on the same
 *   database (the same data directory when embedded): every event exactly once after dedupe;
 * - rows claimed by a worker that died are sent once its lease is over;
 * - two instances on one database: every event POSTed once, no duplicate;
 * - retention prunes delivered events, never one still owed to a configured receiver.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS } from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import {
  FAST_DELIVERY,
  type Receiver,
  rawCounts,
  startReceiver,
  until,
  WEBHOOK_SECRET,
} from '../../../test/support/lifecycle.js';
import {
  ENV_DATABASE_URL,
  openPostgresTestDatabase,
  openTestDatabase,
  type TestDatabase,
} from '../../../test/support/services.js';
import { type DatabaseHandle, type Db, migrateToLatest, openDatabase } from '../db/database.js';
import { pruneOnce } from '../retention/pruner.js';
import { retentionTasks } from '../retention/retention.tasks.js';
import { backoffMs } from './delivery.js';
import { emitLifecycle, type LifecycleType } from './lifecycle.js';

const TYPES: LifecycleType[] = ['user.created', 'user.updated', 'session.revoked', 'user.locked'];

/** Emits `n` events (each its own commit) and returns their ids, read back from the outbox. */
async function emitMany(db: Db, n: number): Promise<string[]> {
  const marker = uuidv7();
  for (let i = 0; i < n; i++) {
    await emitLifecycle(db, {
      type: TYPES[i % TYPES.length] as LifecycleType,
      userId: uuidv7(),
      data: { marker, i },
    });
  }
  const rows = await db.selectFrom('lifecycle_events').select(['id', 'data']).execute();
  return rows.filter((r) => r.data.marker === marker).map((r) => r.id);
}

async function outbox(db: Db, ids: string[]) {
  return db.selectFrom('lifecycle_events').selectAll().where('id', 'in', ids).execute();
}

function webhookEnv(receiver: Receiver) {
  return { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET };
}

/** Every id received (after dedupe) exactly once, nothing else, and every id verified. */
function expectExactlyOnce(receiver: Receiver, ids: string[]): void {
  const received = [...receiver.events.keys()].filter((id) => ids.includes(id));
  expect(received.sort()).toEqual([...ids].sort());
  expect(receiver.rejected).toBe(0);
}

/**
 * A database that a second "process" can open again: the same PostgreSQL database by URL, or the
 * same embedded data directory (PGlite holds it locked while open, like a running server).
 */
async function reopenableDatabase(): Promise<{
  open(): Promise<DatabaseHandle>;
  dispose(): Promise<void>;
  /** Whether two handles may be open at once (PostgreSQL; an embedded directory is locked). */
  shared: boolean;
}> {
  if (ENV_DATABASE_URL) {
    const base = (await openPostgresTestDatabase(ENV_DATABASE_URL)) as TestDatabase & {
      url: string;
    };
    return {
      open: () => openDatabase({ url: base.url, dataDir: 'memory', poolSize: 5 }),
      dispose: () => base.close(),
      shared: true,
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-lifecycle-'));
  const first = await openDatabase({ dataDir });
  await migrateToLatest(first.db);
  await first.close();
  return {
    open: () => openDatabase({ dataDir }),
    dispose: async () => rmSync(dataDir, { recursive: true, force: true }),
    shared: false,
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a receiver outage', () => {
  it(
    'down, then 503, then back: every event arrives exactly once after dedupe; state is kept',
    async () => {
      const receiver = await startReceiver();
      cleanups.push(() => receiver.close());
      await receiver.down();
      const ctx = await createTestApp({
        env: webhookEnv(receiver),
        deps: { lifecycleWorker: FAST_DELIVERY },
      });
      cleanups.push(() => ctx.close());
      const db = ctx.database.db;
      const ids = await emitMany(db, 12);
      expect(ids).toHaveLength(12);

      // Down: refused connections, retried (attempts grow), the error code kept.
      await until('every event retried while the receiver is down', async () =>
        (await outbox(db, ids)).every((r) => r.attempts >= 2 && r.last_error === 'ECONNREFUSED'),
      );
      for (const row of await outbox(db, ids)) {
        expect(row.delivered_at).toBeNull();
        expect(row.last_status).toBeNull();
      }

      // Failing: the status is kept, the body is not.
      receiver.mode = 'fail';
      await receiver.up();
      await until('every event answered 503', async () =>
        (await outbox(db, ids)).every((r) => r.last_status === 503 && r.last_error === null),
      );
      const failing = await outbox(db, ids);
      expect(JSON.stringify(failing)).not.toContain('must never be stored');
      expect(failing.every((r) => r.delivered_at === null)).toBe(true);
      expect(receiver.events.size).toBe(0);

      receiver.mode = 'ok';
      await until('every event delivered', async () =>
        (await outbox(db, ids)).every((r) => r.delivered_at !== null),
      );
      expectExactlyOnce(receiver, ids);
      for (const row of await outbox(db, ids)) {
        expect(row.last_status).toBe(200);
        expect(row.attempts).toBeGreaterThanOrEqual(3);
      }
      // The same id and the same body on every attempt of an event.
      const bodies = new Map<string, Set<string>>();
      for (const d of receiver.raw) {
        const { id } = JSON.parse(d.body.toString()) as { id: string };
        bodies.set(id, (bodies.get(id) ?? new Set()).add(d.body.toString()));
      }
      for (const id of ids) expect(bodies.get(id)?.size).toBe(1);
    },
    BUILD_TIMEOUT_MS,
  );

  it('the backoff doubles from its base up to its cap', () => {
    const options = { baseDelayMs: 5_000, maxDelayMs: 3_600_000 };
    expect([1, 2, 3, 4].map((a) => backoffMs(a, options))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(backoffMs(12, options)).toBe(3_600_000);
    expect(backoffMs(10_000, options)).toBe(3_600_000);
  });
});

describe('the server stops mid-delivery', () => {
  it(
    'closed while the receiver holds requests open; a new server on the same database delivers every event exactly once after dedupe',
    async () => {
      const receiver = await startReceiver();
      cleanups.push(() => receiver.close());
      const database = await reopenableDatabase();
      cleanups.push(() => database.dispose());

      receiver.mode = 'hold';
      const first = await database.open();
      const app1 = await createTestApp({
        env: webhookEnv(receiver),
        database: first,
        deps: { lifecycleWorker: FAST_DELIVERY },
      });
      const ids = await emitMany(first.db, 15);
      await until('requests held open at the receiver', () => receiver.held.length >= 5);
      // The "kill": the app and its database connection go while requests are in flight.
      await app1.close();
      await first.close();
      for (const res of receiver.held.splice(0)) res.destroy();
      const heldIds = new Set(rawCounts(receiver).keys());
      expect(heldIds.size).toBeGreaterThanOrEqual(5);
      expect(receiver.events.size).toBe(0);

      receiver.mode = 'ok';
      const second = await database.open();
      cleanups.push(() => second.close());
      const app2 = await createTestApp({
        env: webhookEnv(receiver),
        database: second,
        deps: { lifecycleWorker: FAST_DELIVERY },
      });
      cleanups.push(() => app2.close());
      await until('every event delivered after the restart', async () =>
        (await outbox(second.db, ids)).every((r) => r.delivered_at !== null),
      );
      expectExactlyOnce(receiver, ids);
      // The ones the first server had in flight were sent again, with the same id.
      const counts = rawCounts(receiver);
      for (const id of heldIds) expect(counts.get(id)).toBeGreaterThanOrEqual(2);
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    "rows claimed by a worker that died are sent once the claim's lease is over",
    async () => {
      const receiver = await startReceiver();
      cleanups.push(() => receiver.close());
      const database = await openTestDatabase();
      cleanups.push(() => database.close());
      const ids = await emitMany(database.db, 4);
      // As a worker leaves them when it dies after claiming: attempted once, held for a lease.
      await database.db
        .updateTable('lifecycle_events')
        .set({ attempts: 1, next_attempt_at: new Date(Date.now() + 1_500) })
        .where('id', 'in', ids)
        .execute();
      const ctx = await createTestApp({
        env: webhookEnv(receiver),
        database,
        deps: { lifecycleWorker: FAST_DELIVERY },
      });
      cleanups.push(() => ctx.close());
      await until('the claimed rows delivered', async () =>
        (await outbox(database.db, ids)).every((r) => r.delivered_at !== null),
      );
      expectExactlyOnce(receiver, ids);
      for (const row of await outbox(database.db, ids)) expect(row.attempts).toBe(2);
    },
    BUILD_TIMEOUT_MS,
  );
});

describe('two instances on one database', () => {
  it(
    'each event is POSTed once: no duplicate delivery',
    async () => {
      const receiver = await startReceiver();
      cleanups.push(() => receiver.close());
      const database = await reopenableDatabase();
      cleanups.push(() => database.dispose());
      const a = await database.open();
      cleanups.push(() => a.close());
      // PostgreSQL: two pools, as two processes have; embedded: one handle (the directory lock).
      const b = database.shared ? await database.open() : a;
      if (b !== a) cleanups.push(() => b.close());
      // A generous timeout and lease: every POST is acknowledged, so none is ever retried.
      const slow = { ...FAST_DELIVERY, timeoutMs: 20_000, leaseMs: 60_000, batchSize: 5 };
      const apps: TestContext[] = [];
      for (const handle of [a, b]) {
        const ctx = await createTestApp({
          env: webhookEnv(receiver),
          database: handle,
          deps: { lifecycleWorker: slow },
        });
        cleanups.push(() => ctx.close());
        apps.push(ctx);
      }
      const ids = await emitMany(a.db, 60);
      await until('every event delivered', async () =>
        (await outbox(a.db, ids)).every((r) => r.delivered_at !== null),
      );
      expectExactlyOnce(receiver, ids);
      const counts = rawCounts(receiver);
      expect(ids.map((id) => counts.get(id))).toEqual(ids.map(() => 1));
      for (const row of await outbox(a.db, ids)) expect(row.attempts).toBe(1);
    },
    BUILD_TIMEOUT_MS,
  );
});

describe('retention', () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.close();
  });

  it(
    'prunes delivered events after RETENTION_SECURITY_EVENTS_DAYS; an owed one stays while a webhook is set',
    async () => {
      database = await openTestDatabase();
      const db = database.db;
      const periods = {
        sessionsDays: 30,
        oneTimeTokensDays: 7,
        idempotencyHours: 24,
        securityEventsDays: 90,
      };
      const ids = await emitMany(db, 3);
      const [oldDelivered, recentDelivered, oldOwed] = ids as [string, string, string];
      const now = Date.now();
      const old = new Date(now - 91 * 86_400_000);
      await db
        .updateTable('lifecycle_events')
        .set({ delivered_at: old })
        .where('id', '=', oldDelivered)
        .execute();
      await db
        .updateTable('lifecycle_events')
        .set({ delivered_at: new Date(now - 89 * 86_400_000) })
        .where('id', '=', recentDelivered)
        .execute();
      // Owed for 91 days (`at` cannot be updated through the row type: raw SQL).
      await db
        .updateTable('lifecycle_events')
        .set({ next_attempt_at: old })
        .where('id', '=', oldOwed)
        .execute();
      await sqlSetAt(db, oldOwed, old);

      const limits = { batchSize: 100, batches: 2 };
      await pruneOnce(
        db,
        retentionTasks(periods, { lifecycleWebhook: true }),
        new Date(now),
        limits,
      );
      const left = (await outbox(db, ids)).map((r) => r.id).sort();
      expect(left).toEqual([recentDelivered, oldOwed].sort());

      // No webhook configured: nothing will ever take it; it goes after the same days.
      await pruneOnce(db, retentionTasks(periods), new Date(now), limits);
      expect((await outbox(db, ids)).map((r) => r.id)).toEqual([recentDelivered]);
      // It opens and migrates its own database, which takes as long as building an app.
    },
    BUILD_TIMEOUT_MS,
  );
});

async function sqlSetAt(db: Db, id: string, at: Date): Promise<void> {
  await sql`UPDATE lifecycle_events SET at = ${at} WHERE id = ${id}`.execute(db);
}
