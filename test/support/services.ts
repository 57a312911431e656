/**
 * Real services for tests. DATABASE_URL / REDIS_URL select PostgreSQL and Redis (CI runs the
 * suite once with them and once without). Tests that need a service call `requireRedis()` or
 * `requirePostgres()`: under CI=true an unreachable service fails the test instead of skipping.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  type DatabaseHandle,
  migrateToLatest,
  openDatabase,
} from '../../src/platform/db/database.js';
import { createMemoryState } from '../../src/platform/state/memory-state.js';
import { createRedisState } from '../../src/platform/state/redis-state.js';
import type { SharedState } from '../../src/platform/state/shared-state.js';

export const IN_CI = process.env.CI === 'true';
export const ENV_DATABASE_URL = process.env.DATABASE_URL;
export const ENV_REDIS_URL = process.env.REDIS_URL;
export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

async function reachable(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

/** The PostgreSQL admin URL to create test databases from, or undefined when none answers (not in CI). */
export async function postgresAdminUrl(): Promise<string | undefined> {
  const url = ENV_DATABASE_URL ?? DEFAULT_PG_URL;
  const ok = await reachable(async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    await client.connect();
    await client.end();
  });
  if (ok) return url;
  if (IN_CI) throw new Error(`PostgreSQL at ${url} is required under CI=true but does not answer`);
  return undefined;
}

/** The Redis URL, or undefined when none answers (not in CI). */
export async function redisUrl(): Promise<string | undefined> {
  const url = ENV_REDIS_URL ?? DEFAULT_REDIS_URL;
  const ok = await reachable(async () => {
    const client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
    } finally {
      client.disconnect();
    }
  });
  if (ok) return url;
  if (IN_CI) throw new Error(`Redis at ${url} is required under CI=true but does not answer`);
  return undefined;
}

/** Creates an empty PostgreSQL database for one test file; dropped by `close()`. */
export async function createPostgresDatabase(adminUrl: string): Promise<DatabaseHandle> {
  const name = `bastion_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ url: url.toString(), dataDir: 'memory', poolSize: 20 });
  return {
    ...handle,
    url: url.toString(),
    async close() {
      await handle.close();
      const again = new pg.Client({ connectionString: adminUrl });
      await again.connect();
      await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.end();
    },
  } as DatabaseHandle & { url: string };
}

export type TestDatabase = DatabaseHandle & { url?: string };

/**
 * The database this run tests on: a fresh PostgreSQL database when DATABASE_URL is set,
 * else in-memory PGlite. Migrated.
 */
export async function openTestDatabase(): Promise<TestDatabase> {
  const handle = ENV_DATABASE_URL
    ? await createPostgresDatabase(ENV_DATABASE_URL)
    : await openDatabase({ dataDir: 'memory' });
  await migrateToLatest(handle.db);
  return handle;
}

/**
 * A fresh, migrated PostgreSQL database whatever this run's DATABASE_URL says: for tests whose
 * point is concurrent transactions (PGlite runs one transaction at a time, so a race cannot fail
 * there). `adminUrl` comes from `postgresAdminUrl()`, which throws under CI=true when none answers.
 */
export async function openPostgresTestDatabase(adminUrl: string): Promise<TestDatabase> {
  const handle = await createPostgresDatabase(adminUrl);
  await migrateToLatest(handle.db);
  return handle;
}

/** The shared state this run tests on: Redis (own key prefix) when REDIS_URL is set, else memory. */
export async function openTestState(prefix = randomPrefix()): Promise<SharedState> {
  return ENV_REDIS_URL ? createRedisState(ENV_REDIS_URL, { prefix }) : createMemoryState();
}

export function randomPrefix(): string {
  return `bastion-test:${randomBytes(6).toString('hex')}:`;
}
