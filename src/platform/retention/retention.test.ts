/**
 * Issue 14: refresh tokens, sessions, one-time tokens, idempotency keys and security events grew
 * forever. With an injected clock, rows past their period are pruned and fresh ones kept; what
 * must never go (the audit log, the ledger, payment events, users) stays. Two pruners racing on
 * PostgreSQL delete every row exactly once and never fail (SKIP LOCKED batches).
 */
import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser } from '../../../test/support/accounts.js';
import {
  openPostgresTestDatabase,
  openTestDatabase,
  postgresAdminUrl,
  type TestDatabase,
} from '../../../test/support/services.js';
import { loadConfig } from '../../config.js';
import { manualClock } from '../clock.js';
import type { Db } from '../db/database.js';
import { pruneOnce, startPruner } from './pruner.js';
import { type RetentionPeriods, retentionTasks } from './retention.tasks.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const periods: RetentionPeriods = {
  sessionsDays: 30,
  oneTimeTokensDays: 7,
  idempotencyHours: 24,
  securityEventsDays: 90,
};
const LIMITS = { batchSize: 500, batches: 4 };

async function user(db: Db): Promise<string> {
  const row = await insertUser(db, { email: `${uuidv7()}@example.test`, passwordHash: 'x' });
  return row.id;
}

/** A session that ended (or will end) at `endsAt`, with one rotated refresh token. */
async function session(db: Db, userId: string, at: number, endsAt: number): Promise<string> {
  const id = uuidv7();
  await db
    .insertInto('sessions')
    .values({
      id,
      user_id: userId,
      created_at: new Date(at),
      last_used_at: new Date(at),
      auth_time: new Date(at),
      idle_timeout_seconds: Math.max(1, Math.floor((endsAt - at) / 1000)),
      expires_at: new Date(endsAt),
      ip: '192.0.2.1',
      user_agent: 'test',
    })
    .execute();
  await db
    .insertInto('refresh_tokens')
    .values({
      token_hash: `rt-${id}`,
      session_id: id,
      created_at: new Date(at),
      rotated_at: new Date(at),
    })
    .execute();
  return id;
}

async function event(db: Db, at: number): Promise<string> {
  const id = uuidv7();
  await db
    .insertInto('security_events')
    .values({ id, type: 'ip_throttled', ip: '192.0.2.2', detail: '{}', created_at: new Date(at) })
    .execute();
  return id;
}

async function ids(db: Db, table: string, column: string): Promise<string[]> {
  const { rows } = await sql<{
    v: string;
  }>`SELECT ${sql.ref(column)}::text AS v FROM ${sql.table(table)}`.execute(db);
  return rows.map((r) => r.v).sort();
}

describe('retention with an injected clock', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await openTestDatabase();
    db = database.db;
  });
  afterAll(async () => {
    await database?.close();
  });

  it('prunes what is past its period, keeps what is not, and never the audit log or the ledger', async () => {
    const clock = manualClock(Date.parse('2026-06-01T00:00:00Z'));
    const now = clock.now();
    const u = await user(db);

    const oldSession = await session(db, u, now - 60 * DAY, now - 31 * DAY);
    const recentlyEnded = await session(db, u, now - 40 * DAY, now - 29 * DAY);
    const live = await session(db, u, now - DAY, now + 29 * DAY);
    const revokedLongAgo = await session(db, u, now - 35 * DAY, now + 100 * DAY);
    await db
      .updateTable('sessions')
      .set({ revoked_at: new Date(now - 31 * DAY) })
      .where('id', '=', revokedLongAgo)
      .execute();

    const token = async (hash: string, expires: number, used: number | null) =>
      db
        .insertInto('one_time_tokens')
        .values({
          token_hash: hash,
          user_id: u,
          purpose: 'reset_password',
          expires_at: new Date(expires),
          used_at: used === null ? null : new Date(used),
        })
        .execute();
    await token('expired-long-ago', now - 8 * DAY, null);
    await token('used-long-ago', now + DAY, now - 8 * DAY);
    await token('expired-yesterday', now - DAY, null);
    await token('pending', now + HOUR, null);

    const idem = async (key: string, at: number) =>
      db
        .insertInto('idempotency_keys')
        .values({
          user_id: u,
          key,
          request_hash: 'h',
          status: 'completed',
          claim: uuidv7(),
          created_at: new Date(at),
        })
        .execute();
    await idem('old', now - 25 * HOUR);
    await idem('fresh', now - 23 * HOUR);

    const oldEvent = await event(db, now - 91 * DAY);
    const freshEvent = await event(db, now - 89 * DAY);
    const auditBefore = await ids(db, 'audit_log', 'id');

    const report = await pruneOnce(db, retentionTasks(periods), new Date(clock.now()), LIMITS);
    expect(report.sessions).toEqual({ rows: 2, done: true });

    const sessions = await ids(db, 'sessions', 'id');
    expect(sessions).toEqual([recentlyEnded, live].sort());
    expect(sessions).not.toContain(oldSession);
    // Refresh tokens went with their sessions.
    expect(await ids(db, 'refresh_tokens', 'token_hash')).toEqual(
      [`rt-${recentlyEnded}`, `rt-${live}`].sort(),
    );
    expect(await ids(db, 'one_time_tokens', 'token_hash')).toEqual([
      'expired-yesterday',
      'pending',
    ]);
    expect(await ids(db, 'idempotency_keys', 'key')).toEqual(['fresh']);
    const events = await ids(db, 'security_events', 'id');
    expect(events).toContain(freshEvent);
    expect(events).not.toContain(oldEvent);
    expect(await ids(db, 'audit_log', 'id')).toEqual(auditBefore);
    expect(await ids(db, 'users', 'id')).toContain(u);

    // A day later the session that had ended 29 days ago is past its 30 days too.
    clock.advance(2 * DAY);
    await pruneOnce(db, retentionTasks(periods), new Date(clock.now()), LIMITS);
    expect(await ids(db, 'sessions', 'id')).toEqual([live]);
  });

  it('works in batches: one tick does at most batchSize × batches rows, the next goes on', async () => {
    const clock = manualClock(Date.parse('2026-06-01T00:00:00Z'));
    await db.deleteFrom('security_events').execute();
    for (let i = 0; i < 25; i++) await event(db, clock.now() - 100 * DAY);
    const tasks = retentionTasks(periods).filter((t) => t.name === 'security_events');
    const first = await pruneOnce(db, tasks, new Date(clock.now()), { batchSize: 10, batches: 2 });
    expect(first.security_events).toEqual({ rows: 20, done: false });
    const second = await pruneOnce(db, tasks, new Date(clock.now()), { batchSize: 10, batches: 2 });
    expect(second.security_events).toEqual({ rows: 5, done: true });
  });

  it('the timer runs on the clock it is given, is unref-ed and stops', async () => {
    const clock = manualClock(Date.parse('2026-06-01T00:00:00Z'));
    const old = await event(db, clock.now() - 100 * DAY);
    const log = { error() {}, info() {} };
    const pruner = startPruner({
      db,
      clock,
      tasks: retentionTasks(periods),
      intervalMs: 3_600_000,
      limits: LIMITS,
      log,
    });
    try {
      await pruner.tick();
      expect(await ids(db, 'security_events', 'id')).not.toContain(old);
    } finally {
      await pruner.stop();
    }
  });

  it('the periods are settings with defaults', () => {
    const base = { NODE_ENV: 'test' };
    expect(loadConfig(base).retention).toMatchObject({
      sessionsDays: 30,
      oneTimeTokensDays: 7,
      idempotencyHours: 24,
      securityEventsDays: 90,
      batchSize: 500,
    });
    expect(
      loadConfig({ ...base, RETENTION_SECURITY_EVENTS_DAYS: '365' }).retention.securityEventsDays,
    ).toBe(365);
  });
});

describe('two pruners racing on PostgreSQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    const url = await postgresAdminUrl();
    if (!url) return;
    database = await openPostgresTestDatabase(url);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('delete every expired row exactly once and never fail', async (test) => {
    if (!database) return test.skip();
    const db = database.db;
    const now = Date.parse('2026-06-01T00:00:00Z');
    const u = await user(db);
    const N = 3000;
    await sql`INSERT INTO security_events (id, type, ip, detail, created_at)
              SELECT gen_random_uuid(), 'ip_throttled', '192.0.2.3', '{}', ${new Date(now - 100 * DAY)}
              FROM generate_series(1, ${N})`.execute(db);
    const keep = await event(db, now - DAY);
    await sql`INSERT INTO sessions (id, user_id, last_used_at, auth_time, idle_timeout_seconds,
                expires_at)
              SELECT gen_random_uuid(), ${u}, ${new Date(now - 60 * DAY)}, ${new Date(now - 60 * DAY)},
                60, ${new Date(now - 59 * DAY)}
              FROM generate_series(1, ${N})`.execute(db);

    const tasks = retentionTasks(periods);
    const limits = { batchSize: 100, batches: 100 };
    const errors: unknown[] = [];
    const log = { error: (obj: object) => errors.push(obj), info() {} };
    const [a, b] = await Promise.all([
      pruneOnce(db, tasks, new Date(now), limits, log),
      pruneOnce(db, tasks, new Date(now), limits, log),
    ]);
    expect(errors).toEqual([]);
    expect((a.security_events?.rows ?? 0) + (b.security_events?.rows ?? 0)).toBe(N);
    expect((a.sessions?.rows ?? 0) + (b.sessions?.rows ?? 0)).toBe(N);
    expect(await ids(db, 'security_events', 'id')).toEqual([keep]);
    expect(await ids(db, 'sessions', 'id')).toEqual([]);
  });
});
