/**
 * Attacks on the audit log (issue 6): rewriting, deleting or truncating entries through the
 * app's connection is refused by the append-only trigger; an attacker with the superuser's
 * powers who disables it and edits or removes an entry is caught by GET /admin/audit/verify,
 * which names the first entry that no longer holds. The production grants (docs/database-roles.md)
 * deny UPDATE/DELETE/TRUNCATE to the app's role before any trigger runs.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { SETUP_TIMEOUT_MS } from '../../../test/support/mfa.js';
import { manualClock } from '../clock.js';
import type { Db } from '../db/database.js';
import { recordAudit } from './audit.store.js';

let ctx: TestContext;
let admin: Actor;
let db: Db;
const clock = manualClock();
const ids: string[] = [];

beforeAll(async () => {
  ctx = await createTestApp({ deps: { clock } });
  db = ctx.database.db;
  admin = await createAdmin(ctx.app, db, clock);
  for (let i = 0; i < 6; i++) {
    ids.push(
      await recordAudit(
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
    const target = ids[3] as string;
    const original = await db
      .selectFrom('audit_log')
      .select('ip')
      .where('id', '=', target)
      .executeTakeFirstOrThrow();
    await withTriggerOff(() =>
      sql`UPDATE audit_log SET ip = '203.0.113.66' WHERE id = ${target}`.execute(db),
    );
    expect(await verify()).toMatchObject({ intact: false, firstBrokenId: target });
    await withTriggerOff(() =>
      sql`UPDATE audit_log SET ip = ${original.ip} WHERE id = ${target}`.execute(db),
    );
    expect((await verify()).intact).toBe(true);
  });

  it('a hash recomputed for an edited entry still breaks the next link', async () => {
    const target = ids[1] as string;
    const next = ids[2] as string;
    await withTriggerOff(() =>
      sql`UPDATE audit_log SET detail = '{"n": 99}', hash = ${'f'.repeat(64)} WHERE id = ${target}`.execute(
        db,
      ),
    );
    const report = await verify();
    expect(report.intact).toBe(false);
    // The forged hash does not match the edited content, so the edited entry itself is first.
    expect([target, next]).toContain(report.firstBrokenId);
  });

  it('a deleted entry breaks its successor', async () => {
    await withTriggerOff(() => sql`DELETE FROM audit_log WHERE id = ${ids[0]}`.execute(db));
    const report = await verify();
    expect(report.intact).toBe(false);
    expect(report.firstBrokenId).toBe(ids[1]);
  });
});

describe('production grants (docs/database-roles.md)', () => {
  it('the app role can append and read but not UPDATE, DELETE or TRUNCATE (42501)', async () => {
    const role = `bastion_app_${randomBytes(4).toString('hex')}`;
    await sql.raw(`CREATE ROLE ${role} NOLOGIN`).execute(db);
    try {
      await sql.raw(`GRANT USAGE ON SCHEMA public TO ${role}`).execute(db);
      await sql
        .raw(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`)
        .execute(db);
      await sql.raw(`REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM ${role}`).execute(db);
      await sql.raw(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role}`).execute(db);

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
      // Reading and appending (what the app does) work under the same role.
      expect(await sqlState(() => asApp(sql`SELECT count(*) FROM audit_log`))).toBeUndefined();
      const append = db.transaction().execute(async (trx) => {
        await sql.raw(`SET LOCAL ROLE ${role}`).execute(trx);
        const { appendAudit } = await import('./audit.store.js');
        await appendAudit(
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
