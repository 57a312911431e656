/** One set of migrations for PGlite and PostgreSQL: same tables, idempotent, persistent, locked. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations } from '../migrations/index.js';
import { DataDirInUseError } from '../src/platform/db/data-dir-lock.js';
import {
  type DatabaseHandle,
  type Db,
  migrateToLatest,
  openDatabase,
  pingDatabase,
} from '../src/platform/db/database.js';
import { createPostgresDatabase, postgresAdminUrl } from './support/services.js';

/** Every column (type, nullability) and index the migrations created. */
async function shape(db: Db): Promise<string[]> {
  const { rows } = await sql<{ t: string; c: string; type: string; nullable: string }>`
    select table_name as t, column_name as c, data_type as type, is_nullable as nullable
    from information_schema.columns where table_schema = 'public'
    order by table_name, column_name`.execute(db);
  const columns = rows.map((r) => `${r.t}.${r.c}: ${r.type}${r.nullable === 'YES' ? ' null' : ''}`);
  const indexes = await sql<{ def: string }>`
    select indexdef as def from pg_indexes where schemaname = 'public' order by indexname`.execute(
    db,
  );
  return [...columns, ...indexes.rows.map((r) => r.def)];
}

const ADMIN_URL = await postgresAdminUrl(); // throws under CI=true when PostgreSQL does not answer
const ALL = Object.keys(migrations);

/** Runs `use` on a fresh database of its own, closed after: no test sees another's migrations. */
async function withDatabase<T>(open: () => Promise<DatabaseHandle>, use: (db: Db) => Promise<T>) {
  const handle = await open();
  try {
    return await use(handle.db);
  } finally {
    await handle.close();
  }
}
const freshPglite = () => openDatabase({ dataDir: 'memory' });
const freshPostgres = () => createPostgresDatabase(ADMIN_URL as string);

describe('migrations on PGlite', () => {
  it('apply every migration in order, then nothing the second time', async () => {
    await withDatabase(freshPglite, async (db) => {
      expect(await migrateToLatest(db)).toEqual(ALL);
      expect(await migrateToLatest(db)).toEqual([]);
      await pingDatabase(db);
      expect(await shape(db)).toEqual(expect.arrayContaining(['users.email_key: text']));
    });
  }, 120_000); // PGlite's first query starts the embedded server: slow on a loaded machine
});

describe.skipIf(!ADMIN_URL)('migrations on PostgreSQL', () => {
  it('apply every migration in order, then nothing the second time', async () => {
    await withDatabase(freshPostgres, async (db) => {
      expect(await migrateToLatest(db)).toEqual(ALL);
      expect(await migrateToLatest(db)).toEqual([]);
      await pingDatabase(db);
    });
  });

  it('leave exactly the same tables and columns as on PGlite', async () => {
    // One after the other: PGlite's start holds the event loop, which can time out a pg connection.
    const embedded = await withDatabase(freshPglite, async (db) => {
      expect(await migrateToLatest(db)).toEqual(ALL);
      return shape(db);
    });
    const real = await withDatabase(freshPostgres, async (db) => {
      expect(await migrateToLatest(db)).toEqual(ALL);
      return shape(db);
    });
    expect(embedded.length).toBeGreaterThan(10);
    expect(real).toEqual(embedded);
  }, 120_000); // opens its own PGlite
});

describe('the embedded data directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-db-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps its data across a restart, and a second opener is refused while it is open', async () => {
    const first = await openDatabase({ dataDir: dir });
    try {
      await migrateToLatest(first.db);
      await expect(openDatabase({ dataDir: dir })).rejects.toBeInstanceOf(DataDirInUseError);
    } finally {
      await first.close();
    }
    const again = await openDatabase({ dataDir: dir });
    try {
      expect(await migrateToLatest(again.db)).toEqual([]);
      // The small buffer pool holds on a directory made in a first start's init-only thread
      // (issue 17: memory); the OS page cache keeps the hot pages.
      const { rows } = await sql<{ shared_buffers: string }>`show shared_buffers`.execute(again.db);
      expect(rows[0]?.shared_buffers).toBe('16MB');
    } finally {
      await again.close();
    }
  }, 120_000);
});
