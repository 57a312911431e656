/**
 * Kysely over `pg` when DATABASE_URL is set, over embedded PGlite otherwise. Both run the same
 * migrations and the same queries.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrations } from '../../../migrations/index.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { PgliteDialect } from './pglite-dialect.js';
import { type PgliteClient, startPgliteThread } from './pglite-thread.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL connection string; unset means embedded PGlite. */
  readonly url?: string | undefined;
  /** PGlite data directory; `memory` keeps the database in memory (tests). */
  readonly dataDir: string | 'memory';
  readonly poolSize?: number;
}

// Postgres `bigint`/`numeric` come back as strings by default; counts and cents fit in a JS number.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

/** Opens the database; an embedded one is locked so no second process can corrupt it. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
    });
    // An idle client that loses its server must not crash the process.
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }

  // PGlite runs in its own thread (pglite-thread.ts), so its queries never block requests.
  let lock: DataDirLock | undefined;
  let client: PgliteClient;
  if (options.dataDir === 'memory') {
    client = await startPgliteThread(undefined);
  } else {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    lock = acquireDataDirLock(options.dataDir);
    try {
      client = await startPgliteThread(join(options.dataDir, 'pglite'));
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  const db = new Kysely<Database>({ dialect: new PgliteDialect(client) });
  return {
    db,
    kind: 'pglite',
    close: async () => {
      await db.destroy();
      lock?.release();
    },
  };
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed`, { cause: error });
  }
  return (results ?? []).map((r) => r.migrationName);
}

/** A cheap round trip for readiness checks. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
