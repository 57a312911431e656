/**
 * A fresh PostgreSQL database for one benchmark run, created through an admin connection
 * (DATABASE_URL's server) and dropped afterwards even while clients are still connected.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DEFAULT_ADMIN_URL =
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function adminQuery(adminUrl: string, statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/** Creates `<prefix>_<random>` on `adminUrl`'s server; returns its URL. */
export async function createDatabase(
  prefix: string,
  adminUrl = DEFAULT_ADMIN_URL,
): Promise<string> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops the database `url` names (FORCE: a benchmark's clients may still hold connections). */
export async function dropDatabase(url: string, adminUrl = DEFAULT_ADMIN_URL): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}
