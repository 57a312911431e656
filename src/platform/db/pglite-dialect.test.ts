/**
 * The embedded database's dialect (issue 20): queries outside a transaction are pipelined to the
 * database thread, so these prove what must still hold on its one PostgreSQL session.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from './database.js';

let handle: DatabaseHandle;
beforeAll(async () => {
  handle = await openDatabase({ dataDir: 'memory' });
  await sql`create table notes (id int primary key, body text not null)`.execute(handle.db);
}, 120_000);
afterAll(async () => handle?.close());

const db = () => handle.db;
const bodies = async () =>
  (await sql<{ body: string }>`select body from notes order by id`.execute(db())).rows.map(
    (r) => r.body,
  );

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('the embedded dialect', () => {
  it('holds a query from outside an open transaction until it ends: a rollback never takes it', async () => {
    await sql`delete from notes`.execute(db());
    const inside = gate();
    const release = gate();
    const transaction = db()
      .transaction()
      .execute(async (trx) => {
        await sql`insert into notes values (1, 'inside')`.execute(trx);
        inside.open();
        await release.opened;
        throw new Error('roll it back');
      });
    await inside.opened;
    let outsideDone = false;
    const outside = sql`insert into notes values (2, 'outside')`.execute(db()).then(() => {
      outsideDone = true;
    });
    // Time for the thread to answer it, were it posted: it must still be waiting.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(outsideDone).toBe(false);
    release.open();
    await expect(transaction).rejects.toThrow('roll it back');
    await outside;
    expect(await bodies()).toEqual(['outside']);
  });

  it('runs two transactions one after the other: a read-modify-write loses no update', async () => {
    await sql`delete from notes`.execute(db());
    await sql`insert into notes values (1, '0')`.execute(db());
    const bump = () =>
      db()
        .transaction()
        .execute(async (trx) => {
          const { rows } = await sql<{ body: string }>`select body from notes where id = 1`.execute(
            trx,
          );
          await new Promise((resolve) => setTimeout(resolve, 5));
          await sql`update notes set body = ${String(Number(rows[0]?.body) + 1)} where id = 1`.execute(
            trx,
          );
        });
    await Promise.all(Array.from({ length: 10 }, bump));
    expect(await bodies()).toEqual(['10']);
  });

  it('answers each of many pipelined queries with its own rows', async () => {
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        sql<{ n: number; t: string }>`select ${i}::int as n, ${`v${i}`}::text as t`.execute(db()),
      ),
    );
    expect(answers.map((a) => a.rows[0])).toEqual(
      Array.from({ length: 300 }, (_, i) => ({ n: i, t: `v${i}` })),
    );
  });

  it('keeps PostgreSQL error fields, and the session works after an error in and out of a transaction', async () => {
    await sql`delete from notes`.execute(db());
    await sql`insert into notes values (1, 'a')`.execute(db());
    await expect(sql`insert into notes values (1, 'b')`.execute(db())).rejects.toMatchObject({
      code: '23505',
      constraint: 'notes_pkey',
    });
    await expect(
      db()
        .transaction()
        .execute(async (trx) => {
          await sql`insert into notes values (2, 'b')`.execute(trx);
          await sql`insert into notes values (1, 'c')`.execute(trx);
        }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await bodies()).toEqual(['a']);
    const { numUpdatedRows } = await db()
      .updateTable('notes' as never)
      .set({ body: 'z' } as never)
      .executeTakeFirstOrThrow();
    expect(numUpdatedRows).toBe(1n);
  });

  it('reads a table whose columns changed after a statement on it was prepared', async () => {
    await sql`delete from notes`.execute(db());
    await sql`insert into notes values (1, 'a')`.execute(db());
    const all = () => sql<Record<string, unknown>>`select * from notes`.execute(db());
    expect((await all()).rows).toEqual([{ id: 1, body: 'a' }]);
    await sql`alter table notes add column tag text default 'x'`.execute(db());
    expect((await all()).rows).toEqual([{ id: 1, body: 'a', tag: 'x' }]);
    await sql`alter table notes drop column tag`.execute(db());
  });

  it('passes parameters of each type as PGlite serializes them: dates, JSON, arrays, bytes', async () => {
    const when = new Date('2026-01-02T03:04:05.678Z');
    const { rows } = await sql<{ d: Date; j: unknown; a: string[]; b: Uint8Array; n: null }>`
      select ${when}::timestamptz as d, ${JSON.stringify({ k: [1] })}::jsonb as j,
             ${['x', 'y']}::text[] as a, ${new Uint8Array([1, 2, 255])}::bytea as b,
             ${null}::text as n`.execute(db());
    expect(rows[0]?.d).toEqual(when);
    expect(rows[0]?.j).toEqual({ k: [1] });
    expect(rows[0]?.a).toEqual(['x', 'y']);
    expect([...(rows[0]?.b ?? [])]).toEqual([1, 2, 255]);
    expect(rows[0]?.n).toBeNull();
  });
});
