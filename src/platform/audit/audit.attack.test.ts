/**
 * Attacks on the audit log (issue 6): rewriting, deleting or truncating entries through the
 * app's connection is refused by the append-only trigger; an attacker with the superuser's
 * powers who disables it and edits or removes an entry is caught by GET /admin/audit/verify,
 * which names the first entry that no longer holds. The production grants (docs/database-roles.md)
 * deny UPDATE/DELETE/TRUNCATE to the app's role before any trigger runs.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { auditChainOf } from '../../../test/support/audit.js';
import { SETUP_TIMEOUT_MS } from '../../../test/support/mfa.js';
import { manualClock } from '../clock.js';
import type { Db } from '../db/database.js';
import { chainHash } from './audit.chain.js';
import { type AuditChain, type AuditRow, readAuditAfter, recordAudit } from './audit.store.js';

let ctx: TestContext;
let admin: Actor;
let db: Db;
let chain: AuditChain;
const clock = manualClock();
const ids: string[] = [];

beforeAll(async () => {
  ctx = await createTestApp({ deps: { clock } });
  db = ctx.database.db;
  chain = auditChainOf(ctx);
  admin = await createAdmin(ctx.app, db, clock);
  for (let i = 0; i < 6; i++) {
    ids.push(
      await recordAudit(
        chain,
        db,
        {
          actorId: admin.userId,
          action: 'test.entry',
          targetType: 'user',
          targetId: admin.userId,
          ip: '192.0.2.1',
          detail: { n: i, nested: { b: 2, a: [1, 'x'] } },
        },
        new Date(clock.now() + i),
      ),
    );
  }
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

async function verify() {
  const res = await ctx.app.inject({ url: '/admin/audit/verify', headers: admin.headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { intact: boolean; entries: number; firstBrokenId: string | null };
}

/** Runs `fn` with the append-only trigger off, as only a superuser or the owner could. */
async function withTriggerOff(fn: () => Promise<unknown>): Promise<void> {
  await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`.execute(db);
  try {
    await fn();
  } finally {
    await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`.execute(db);
  }
}

/** Appends `n` entries of this test's own, so no test depends on another's leftovers. */
async function freshEntries(n: number): Promise<[string, string, string, ...string[]]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await recordAudit(
        chain,
        db,
        { actorId: admin.userId, action: 'test.fresh', targetType: 'user', detail: { i } },
        new Date(clock.now()),
      ),
    );
  }
  return out as [string, string, string, ...string[]];
}

async function rowOf(id: string): Promise<AuditRow> {
  const rows = await readAuditAfter(db, '0', 1_000_000);
  const row = rows.find((r) => r.id === id);
  if (!row) throw new Error(`no audit entry ${id}`);
  return row;
}

/** Puts an entry back exactly as it was (re-inserted at its old position after a DELETE). */
async function restore(row: AuditRow, options: { reinsert?: boolean } = {}): Promise<void> {
  const detail = JSON.stringify(row.detail);
  if (options.reinsert) {
    await sql`INSERT INTO audit_log (seq, id, at, actor_id, action, target_type, target_id, ip,
                detail, prev_hash, hash, alg) OVERRIDING SYSTEM VALUE
              VALUES (${row.seq}, ${row.id}, ${row.at}, ${row.actorId}, ${row.action},
                ${row.targetType}, ${row.targetId}, ${row.ip}, ${detail}::jsonb, ${row.prevHash},
                ${row.hash}, ${row.alg})`.execute(db);
    return;
  }
  await withTriggerOff(() =>
    sql`UPDATE audit_log SET ip = ${row.ip}, detail = ${detail}::jsonb, hash = ${row.hash}
        WHERE id = ${row.id}`.execute(db),
  );
}

async function sqlState(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
  } catch (err) {
    return (err as { code?: string }).code ?? 'error-without-code';
  }
  return undefined;
}

describe('through the app connection', () => {
  it('the chain is intact to begin with', async () => {
    const report = await verify();
    expect(report).toMatchObject({ intact: true, firstBrokenId: null });
    expect(report.entries).toBeGreaterThanOrEqual(6);
  });

  it('UPDATE, DELETE and TRUNCATE of audit rows are refused by the trigger', async () => {
    const target = ids[2] as string;
    expect(
      await sqlState(() =>
        db.updateTable('audit_log').set({ action: 'forged' }).where('id', '=', target).execute(),
      ),
    ).toBe('P0001');
    expect(
      await sqlState(() => db.deleteFrom('audit_log').where('id', '=', target).execute()),
    ).toBe('P0001');
    expect(await sqlState(() => sql`TRUNCATE audit_log`.execute(db))).toBe('P0001');
    expect((await verify()).intact).toBe(true);
  });
});

describe('with the trigger disabled (a superuser tampering)', () => {
  it('an edited entry is reported as the first broken link, and restoring it heals the chain', async () => {
    const [, target] = await freshEntries(3);
    expect((await verify()).intact).toBe(true);
    const original = await rowOf(target);
    try {
      await withTriggerOff(() =>
        sql`UPDATE audit_log SET ip = '203.0.113.66' WHERE id = ${target}`.execute(db),
      );
      expect(await verify()).toMatchObject({ intact: false, firstBrokenId: target });
    } finally {
      await restore(original);
    }
    expect((await verify()).intact).toBe(true);
  });

  it('an edited entry whose own hash is recomputed over its prevHash breaks the next link', async () => {
    const [, target, next] = await freshEntries(3);
    expect((await verify()).intact).toBe(true);
    const original = await rowOf(target);
    const forged = { ...original, detail: { n: 99, forged: true } };
    const forgedHash = chainHash(chain.key, original.alg, original.prevHash, forged);
    try {
      await withTriggerOff(() =>
        sql`UPDATE audit_log SET detail = ${JSON.stringify(forged.detail)}::jsonb, hash = ${forgedHash}
            WHERE id = ${target}`.execute(db),
      );
      // The forgery holds by itself: the entry's stored hash matches its new content and link.
      const stored = await rowOf(target);
      expect(stored.hash).toBe(chainHash(chain.key, stored.alg, stored.prevHash, stored));
      // Only the successor, still linked to the old hash, gives it away.
      expect(await verify()).toMatchObject({ intact: false, firstBrokenId: next });
    } finally {
      await restore(original);
    }
    expect((await verify()).intact).toBe(true);
  });

  it('a deleted entry breaks the link of the entry after the gap', async () => {
    const [, target, next] = await freshEntries(3);
    expect((await verify()).intact).toBe(true);
    const original = await rowOf(target);
    try {
      await withTriggerOff(() => sql`DELETE FROM audit_log WHERE id = ${target}`.execute(db));
      expect(await verify()).toMatchObject({ intact: false, firstBrokenId: next });
    } finally {
      await restore(original, { reinsert: true });
    }
    expect((await verify()).intact).toBe(true);
  });
});

/**
 * The GRANT and REVOKE statements for `bastion_app` in the doc's sql block, read from the doc
 * itself so the documented grants and the tested ones cannot drift apart.
 */
async function documentedGrants(): Promise<string[]> {
  const doc = await readFile(new URL('../../../docs/database-roles.md', import.meta.url), 'utf8');
  const block = /```sql\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/database-roles.md has no sql block');
  return block
    .split('\n')
    .map((line) => line.replace(/--.*$/, '').trim())
    .filter((line) => /^(GRANT|REVOKE)\b.*\bbastion_app;$/.test(line))
    .map((line) => line.slice(0, -1));
}

describe('production grants (docs/database-roles.md)', () => {
  it('the app role can append and read but not UPDATE, DELETE or TRUNCATE (42501)', async () => {
    const role = `bastion_app_${randomBytes(4).toString('hex')}`;
    await sql.raw(`CREATE ROLE ${role} NOLOGIN`).execute(db);
    try {
      const grants = await documentedGrants();
      expect(grants).toContain('REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM bastion_app');
      for (const statement of grants) {
        await sql.raw(statement.replaceAll('bastion_app', role)).execute(db);
      }

      const asApp = (statement: ReturnType<typeof sql>) =>
        db.transaction().execute(async (trx) => {
          await sql.raw(`SET LOCAL ROLE ${role}`).execute(trx);
          await statement.execute(trx);
        });
      const id = ids[5] as string;
      expect(
        await sqlState(() => asApp(sql`UPDATE audit_log SET action = 'x' WHERE id = ${id}`)),
      ).toBe('42501');
      expect(await sqlState(() => asApp(sql`DELETE FROM audit_log WHERE id = ${id}`))).toBe(
        '42501',
      );
      expect(await sqlState(() => asApp(sql`TRUNCATE audit_log`))).toBe('42501');
      // The wallet ledger is append-only the same way (migration 0007).
      expect(grants).toContain(
        'REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries FROM bastion_app',
      );
      for (const statement of [
        sql`UPDATE ledger_entries SET reference = 'x'`,
        sql`DELETE FROM ledger_entries`,
        sql`TRUNCATE ledger_entries`,
      ]) {
        expect(await sqlState(() => asApp(statement))).toBe('42501');
      }
      // Reading and appending (what the app does) work under the same role.
      expect(await sqlState(() => asApp(sql`SELECT count(*) FROM audit_log`))).toBeUndefined();
      const append = db.transaction().execute(async (trx) => {
        await sql.raw(`SET LOCAL ROLE ${role}`).execute(trx);
        const { appendAudit } = await import('./audit.store.js');
        await appendAudit(
          chain,
          trx,
          { actorId: null, action: 'test.as_app_role', targetType: 'system' },
          new Date(clock.now()),
        );
      });
      await expect(append).resolves.toBeUndefined();
    } finally {
      await sql.raw(`DROP OWNED BY ${role}`).execute(db);
      await sql.raw(`DROP ROLE ${role}`).execute(db);
    }
  });
});
