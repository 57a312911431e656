/**
 * Issue 14: the database's owner attacks the audit chain. With plain SHA-256 anyone who can write
 * the table can rewrite an entry and recompute every hash after it, or cut entries off the end,
 * and the chain still "verifies". The chain is keyed (HMAC with a key derived from the master
 * key, which the database never sees) and its head is kept in shared state, outside the table:
 * both attacks are reported by GET /admin/audit/verify. Runs on PGlite + memory state and on
 * PostgreSQL + Redis (DATABASE_URL/REDIS_URL).
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createActor, createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { auditChainOf } from '../../../test/support/audit.js';
import { SETUP_TIMEOUT_MS } from '../../../test/support/mfa.js';
import { openTestDatabase, openTestState } from '../../../test/support/services.js';
import { manualClock } from '../clock.js';
import type { Db } from '../db/database.js';
import { appendAudit } from './audit.store.js';

let ctx: TestContext;
let admin: Actor;
let target: Actor;
let db: Db;
const clock = manualClock();

interface Report {
  intact: boolean;
  entries: number;
  firstBrokenId: string | null;
  truncated?: boolean;
}

async function verify(): Promise<Report> {
  const res = await ctx.app.inject({ url: '/admin/audit/verify', headers: admin.headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Report;
}

/** Audited admin actions through the API: each lock or unlock is one entry. */
async function auditedActions(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await ctx.app.inject({
      method: 'PATCH',
      url: `/admin/users/${target.userId}`,
      headers: admin.headers,
      payload: { locked: i % 2 === 0 },
    });
    expect(res.statusCode, res.body).toBe(200);
  }
}

beforeAll(async () => {
  ctx = await createTestApp({ deps: { clock } });
  db = ctx.database.db;
  admin = await createAdmin(ctx.app, db, clock);
  target = await createActor(ctx.app, db, { prefix: 'target' });
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

// --- what the attacker knows: the table, the published canonical form and plain SHA-256 ---

interface StoredRow {
  seq: string;
  id: string;
  at: Date;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  detail: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function plainHash(prevHash: string, r: StoredRow): string {
  const content = canonical({
    id: r.id,
    at: r.at.toISOString(),
    actorId: r.actor_id,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    ip: r.ip,
    detail: r.detail,
  });
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}

async function allRows(): Promise<StoredRow[]> {
  const { rows } = await sql<StoredRow>`SELECT * FROM audit_log ORDER BY seq`.execute(db);
  return rows.map((r) => ({ ...r, seq: String(r.seq) }));
}

/** The whole table as JSON, to put back byte for byte after an attack. */
async function snapshot(): Promise<string> {
  const { rows } = await sql<{ j: unknown }>`
    SELECT coalesce(jsonb_agg(a ORDER BY seq), '[]'::jsonb) AS j FROM audit_log a`.execute(db);
  return JSON.stringify(rows[0]?.j ?? []);
}

/** As the owner: the append-only trigger off for the length of `fn`. */
async function asOwner(fn: () => Promise<unknown>): Promise<void> {
  await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`.execute(db);
  try {
    await fn();
  } finally {
    await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`.execute(db);
  }
}

async function restore(saved: string): Promise<void> {
  await asOwner(async () => {
    await sql`DELETE FROM audit_log`.execute(db);
    await sql`INSERT INTO audit_log OVERRIDING SYSTEM VALUE
              SELECT * FROM jsonb_populate_recordset(null::audit_log, ${saved}::jsonb)`.execute(db);
  });
}

/** Rewrites entry `index` with `change` and recomputes every plain SHA-256 link from there on. */
async function rewriteAndRehash(
  index: number,
  change: (r: StoredRow) => StoredRow,
  extra: ReturnType<typeof sql> | null = null,
): Promise<string> {
  const rows = await allRows();
  const victim = rows[index];
  if (!victim) throw new Error('not enough entries');
  await asOwner(async () => {
    if (extra) await extra.execute(db);
    let prev = rows[index - 1]?.hash ?? '0'.repeat(64);
    for (const [i, original] of rows.entries()) {
      if (i < index) continue;
      const r = i === index ? change(original) : original;
      const hash = plainHash(prev, r);
      await sql`UPDATE audit_log SET ip = ${r.ip}, detail = ${JSON.stringify(r.detail)}::jsonb,
                  prev_hash = ${prev}, hash = ${hash} WHERE id = ${r.id}`.execute(db);
      prev = hash;
    }
  });
  return victim.id;
}

describe('a database owner attacks the audit chain', () => {
  it('the chain built through the API is intact', async () => {
    await auditedActions(6);
    const report = await verify();
    expect(report).toMatchObject({ intact: true, firstBrokenId: null });
    expect(report.entries).toBeGreaterThanOrEqual(6);
  });

  it('rewriting an entry and recomputing the plain SHA-256 chain after it is detected', async () => {
    await auditedActions(2);
    const saved = await snapshot();
    const count = (await allRows()).length;
    try {
      const victim = await rewriteAndRehash(count - 4, (r) => ({
        ...r,
        ip: '203.0.113.7',
        detail: { covered: 'up' },
      }));
      const report = await verify();
      expect(report.intact).toBe(false);
      expect(report.firstBrokenId).toBe(victim);
    } finally {
      await restore(saved);
    }
    expect((await verify()).intact).toBe(true);
  });

  it('relabelling the rewritten entries as plain SHA-256 (pre-issue-14 entries) is detected too', async () => {
    await auditedActions(2);
    const saved = await snapshot();
    const rows = await allRows();
    const from = rows.length - 3;
    const relabel = sql`UPDATE audit_log SET alg = 'sha256'
                        WHERE seq >= ${(rows[from] as StoredRow).seq}`;
    try {
      const victim = await rewriteAndRehash(from, (r) => ({ ...r, ip: null }), relabel);
      const report = await verify();
      expect(report.intact).toBe(false);
      expect(report.firstBrokenId).toBe(victim);
      // Every entry rewritten, from the first one on, with the head forgotten (the embedded
      // default's memory state after a restart): a chain cannot end in unvouched plain entries.
      await restore(saved);
      await ctx.state.del('audit:head');
      const all = sql`UPDATE audit_log SET alg = 'sha256'`;
      const first = await rewriteAndRehash(0, (r) => r, all);
      expect(await verify()).toMatchObject({ intact: false, firstBrokenId: first });
    } finally {
      await restore(saved);
    }
    expect((await verify()).intact).toBe(true);
  });

  it('deleting the last entries is detected, however many', async () => {
    for (const n of [1, 3]) {
      await auditedActions(n + 1);
      const saved = await snapshot();
      const rows = await allRows();
      const cut = rows.slice(-n).map((r) => r.id);
      try {
        await asOwner(() => db.deleteFrom('audit_log').where('id', 'in', cut).execute());
        const report = await verify();
        expect(report.entries).toBe(rows.length - n);
        expect(report.intact, `last ${n} entries deleted`).toBe(false);
      } finally {
        await restore(saved);
      }
      expect((await verify()).intact).toBe(true);
    }
  });

  it('an entry whose transaction rolled back is no truncation; cutting the entry before it is', async () => {
    await auditedActions(1);
    const chain = auditChainOf(ctx);
    const rolledBack = db.transaction().execute(async (trx) => {
      await appendAudit(
        chain,
        trx,
        { actorId: null, action: 'test.rolled_back', targetType: 'system' },
        new Date(clock.now()),
      );
      throw new Error('the audited change failed');
    });
    await expect(rolledBack).rejects.toThrow('the audited change failed');
    expect(await verify()).toMatchObject({ intact: true, truncated: false });

    const saved = await snapshot();
    const last = (await allRows()).at(-1) as StoredRow;
    try {
      await asOwner(() => db.deleteFrom('audit_log').where('id', '=', last.id).execute());
      expect(await verify()).toMatchObject({ intact: false, truncated: true });
    } finally {
      await restore(saved);
    }
    expect((await verify()).intact).toBe(true);
  });
});

describe('upgrading a chain written with plain SHA-256', () => {
  it(
    'old entries still verify, the app seals them with a keyed entry, a rewrite of them is caught',
    async () => {
      const database = await openTestDatabase();
      const state = await openTestState();
      let upgraded: TestContext | undefined;
      try {
        const legacy = database.db;
        let prev = '0'.repeat(64);
        for (let i = 0; i < 3; i++) {
          const row: StoredRow = {
            seq: '0',
            id: uuidv7(),
            at: new Date(Math.floor(clock.now()) + i),
            actor_id: null,
            action: 'legacy.entry',
            target_type: 'system',
            target_id: null,
            ip: '192.0.2.9',
            detail: { i },
            prev_hash: prev,
            hash: '',
          };
          const hash = plainHash(prev, row);
          await sql`INSERT INTO audit_log (id, at, actor_id, action, target_type, target_id, ip,
                    detail, prev_hash, hash, alg)
                  VALUES (${row.id}, ${row.at}, null, ${row.action}, ${row.target_type}, null,
                    ${row.ip}, ${JSON.stringify(row.detail)}::jsonb, ${prev}, ${hash}, 'sha256')`.execute(
            legacy,
          );
          prev = hash;
        }
        upgraded = await createTestApp({ database, state, deps: { clock } });
        const sealed = await legacy
          .selectFrom('audit_log')
          .select(['action', 'alg', 'prev_hash'])
          .orderBy('seq', 'asc')
          .offset(3)
          .limit(1)
          .executeTakeFirstOrThrow();
        expect(sealed).toEqual({
          action: 'audit.chain_keyed',
          alg: 'hmac-sha256',
          prev_hash: prev,
        });
        const boss = await createAdmin(upgraded.app, legacy, clock);
        const check = async () =>
          (
            await (upgraded as TestContext).app.inject({
              url: '/admin/audit/verify',
              headers: boss.headers,
            })
          ).json() as Report;
        expect(await check()).toMatchObject({ intact: true, firstBrokenId: null });

        // The owner rewrites an old (plain SHA-256) entry and recomputes the plain links after it:
        // the keyed seal still names the old last hash.
        const first = await legacy
          .selectFrom('audit_log')
          .select('id')
          .orderBy('seq', 'asc')
          .limit(1)
          .executeTakeFirstOrThrow();
        await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`.execute(legacy);
        const rows = (
          await sql<StoredRow>`SELECT * FROM audit_log ORDER BY seq LIMIT 3`.execute(legacy)
        ).rows;
        let p = '0'.repeat(64);
        for (const r of rows) {
          const changed = r.id === first.id ? { ...r, ip: '203.0.113.1' } : r;
          const h = plainHash(p, changed);
          await sql`UPDATE audit_log SET ip = ${changed.ip}, prev_hash = ${p}, hash = ${h}
                  WHERE id = ${r.id}`.execute(legacy);
          p = h;
        }
        await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`.execute(legacy);
        const report = await check();
        expect(report.intact).toBe(false);
        expect(report.firstBrokenId).not.toBeNull();
      } finally {
        await upgraded?.app.close();
        await state.close();
        await database.close();
      }
    },
    SETUP_TIMEOUT_MS,
  );
});
