/**
 * `bastion doctor`'s live checks (issue 17): it connects to what the configuration names (the
 * database, Redis, SMTP), unseals the signing keys with the configured key-encryption key and
 * compares this machine's clock with the database's. Each check says ok, warning or error with
 * a short reason; a reason never holds a secret or a URL's credentials.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { importPKCS8 } from 'jose';
import { sql } from 'kysely';
import { createTransport } from 'nodemailer';
import { migrations } from '../migrations/index.js';
import { sealingKey } from './auth/keys/keyring.js';
import type { Config } from './config.js';
import { unseal } from './platform/crypto.js';
import { DataDirInUseError } from './platform/db/data-dir-lock.js';
import { type DatabaseHandle, type Db, openDatabase } from './platform/db/database.js';
import type { Finding } from './platform/doctor.js';

export interface Check {
  readonly level: 'ok' | Finding['level'];
  readonly setting: string;
  readonly message: string;
}

/** Beyond this, tokens' `iat`/`exp` and the database's timestamps disagree noticeably. */
export const MAX_CLOCK_OFFSET_MS = 2000;
const TIMEOUT_MS = 10_000;

/** `scheme://host:port/path` without user, password or query: safe to print. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** Every secret value the configuration holds, as it could appear in an error message. */
function secretsOf(config: Config): string[] {
  const out: string[] = [];
  for (const url of [config.databaseUrl, config.migrationDatabaseUrl, config.redisUrl]) {
    if (!url) continue;
    out.push(url);
    try {
      const u = new URL(url);
      if (u.password) out.push(u.password, decodeURIComponent(u.password));
    } catch {
      // not a URL: the whole value is already listed
    }
  }
  if (config.smtpUrl) {
    out.push(config.smtpUrl);
    try {
      const u = new URL(config.smtpUrl);
      if (u.password) out.push(u.password, decodeURIComponent(u.password));
    } catch {
      // as above
    }
  }
  if (config.keyEncryptionKey) out.push(config.keyEncryptionKey.toString('base64'));
  return out.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
}

/** A short reason from an error, with every configured secret blotted out. */
function reasonOf(err: unknown, secrets: readonly string[]): string {
  const e = err as { code?: unknown; message?: unknown };
  let text = typeof e?.message === 'string' && e.message ? e.message : String(err);
  text = text.split('\n')[0]?.slice(0, 200) ?? '';
  for (const secret of secrets) text = text.split(secret).join('***');
  // Any other credentials in a URL the message quotes.
  text = text.replace(/(\w+:\/\/)[^@\s/]*@/g, '$1***@');
  const code = typeof e?.code === 'string' || typeof e?.code === 'number' ? String(e.code) : '';
  return code && !text.includes(code) ? `${code}: ${text}` : text;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface DatabaseFacts {
  readonly version: string;
  readonly role: string;
  readonly superuser: boolean;
  readonly ownedTables: number;
  readonly appendOnlyWritable: string[];
  readonly applied: string[] | null;
}

async function databaseFacts(db: Db): Promise<DatabaseFacts> {
  const { rows } = await sql<{
    version: string;
    role: string;
    superuser: boolean;
    owned: number;
    migrated: boolean;
  }>`SELECT current_setting('server_version') AS version, current_user AS role,
        COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser,
        (SELECT count(*)::int FROM pg_tables
          WHERE schemaname = 'public' AND tableowner = current_user) AS owned,
        to_regclass('kysely_migration') IS NOT NULL AS migrated`.execute(db);
  const facts = rows[0];
  if (!facts) throw new Error('the database returned no row');
  const appendOnlyWritable: string[] = [];
  for (const table of ['audit_log', 'ledger_entries']) {
    const { rows: p } = await sql<{ w: boolean | null }>`
      SELECT CASE WHEN to_regclass(${table}) IS NULL THEN NULL
        ELSE has_table_privilege(${table}, 'UPDATE') OR has_table_privilege(${table}, 'DELETE')
          OR has_table_privilege(${table}, 'TRUNCATE') END AS w`.execute(db);
    if (p[0]?.w) appendOnlyWritable.push(table);
  }
  const applied = facts.migrated
    ? (
        await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db)
      ).rows.map((r) => r.name)
    : null;
  return {
    version: facts.version.split(' ')[0] ?? facts.version,
    role: facts.role,
    superuser: facts.superuser,
    ownedTables: facts.owned,
    appendOnlyWritable,
    applied,
  };
}

function migrationChecks(applied: string[] | null): Check {
  const known = Object.keys(migrations);
  if (applied === null)
    return {
      level: 'error',
      setting: 'migrations',
      message: 'none applied: run `bastion migrate`',
    };
  const pending = known.filter((name) => !applied.includes(name));
  if (pending.length > 0)
    return {
      level: 'error',
      setting: 'migrations',
      message: `${pending.length} pending (${pending[0]}…): run \`bastion migrate\``,
    };
  const unknown = applied.filter((name) => !known.includes(name));
  if (unknown.length > 0)
    return {
      level: 'warning',
      setting: 'migrations',
      message: `the database has ${unknown.length} this version does not know (${unknown[0]}): an older build against a newer schema`,
    };
  return { level: 'ok', setting: 'migrations', message: `current (${known.length} applied)` };
}

function roleChecks(facts: DatabaseFacts): Check[] {
  const checks: Check[] = [];
  if (facts.superuser)
    checks.push({
      level: 'warning',
      setting: 'DATABASE_URL',
      message: `role ${facts.role} is a superuser: run the server as an app role (docs/database-roles.md)`,
    });
  if (facts.ownedTables > 0)
    checks.push({
      level: 'warning',
      setting: 'DATABASE_URL',
      message: `role ${facts.role} owns ${facts.ownedTables} tables: it could drop or alter them; migrate as an owner role (MIGRATION_DATABASE_URL), run the server as an app role`,
    });
  if (facts.appendOnlyWritable.length > 0 && !facts.superuser && facts.ownedTables === 0)
    checks.push({
      level: 'warning',
      setting: 'DATABASE_URL',
      message: `role ${facts.role} may change ${facts.appendOnlyWritable.join(' and ')}: apply deploy/postgres/grants.sql`,
    });
  if (checks.length === 0)
    checks.push({
      level: 'ok',
      setting: 'DATABASE_URL',
      message: `role ${facts.role}: no superuser, owns no tables, audit log and ledger append-only`,
    });
  return checks;
}

/**
 * Database time minus this machine's, from the midpoint of a round trip: the best of three (the
 * shortest round trip bounds the error best on a loaded machine).
 */
async function clockOffsetMs(db: Db): Promise<number> {
  let best = { roundTrip: Number.POSITIVE_INFINITY, offset: 0 };
  for (let i = 0; i < 3; i++) {
    const before = Date.now();
    const { rows } = await sql<{
      ms: number | string;
    }>`SELECT (extract(epoch FROM now()) * 1000)::float8 AS ms`.execute(db);
    const after = Date.now();
    if (after - before < best.roundTrip)
      best = { roundTrip: after - before, offset: Number(rows[0]?.ms) - (before + after) / 2 };
  }
  return best.offset;
}

export function clockCheck(offset: number): Check {
  const secs = (Math.abs(offset) / 1000).toFixed(1);
  const direction = offset > 0 ? 'behind' : 'ahead of';
  if (Math.abs(offset) > MAX_CLOCK_OFFSET_MS)
    return {
      level: 'warning',
      setting: 'clock',
      message: `this machine is ${secs} s ${direction} the database: synchronise both with NTP (tokens and rate windows use the machine's clock)`,
    };
  return { level: 'ok', setting: 'clock', message: `within ${secs} s of the database's now()` };
}

/** The master key the server would use, without generating a development key as it would. */
function masterKeyOf(config: Config): Buffer | undefined {
  if (config.keyEncryptionKey) return config.keyEncryptionKey;
  const path = join(config.dataDir, 'dev-key-encryption.key');
  if (!existsSync(path)) return undefined;
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  return key.length === 32 ? key : undefined;
}

async function keyChecks(db: Db, config: Config): Promise<Check> {
  const setting = 'KEY_ENCRYPTION_KEY';
  const now = new Date();
  const rows = await db
    .selectFrom('signing_keys')
    .select(['kid', 'alg', 'private_key_sealed', 'activates_at', 'expires_at'])
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .orderBy('activates_at', 'asc')
    .execute();
  if (rows.length === 0)
    return {
      level: 'warning',
      setting,
      message: 'no signing keys yet: the server creates the first at start',
    };
  const master = masterKeyOf(config);
  if (!master)
    return {
      level: 'error',
      setting,
      message: `${rows.length} signing keys exist but no key-encryption key is set to unseal them`,
    };
  const sealKey = sealingKey(master);
  for (const row of rows) {
    try {
      await importPKCS8(unseal(sealKey, row.private_key_sealed, row.kid), row.alg);
    } catch {
      return {
        level: 'error',
        setting,
        message: `signing key ${row.kid} does not unseal: this is not the key-encryption key that sealed it (every instance needs the same one)`,
      };
    }
  }
  const current = rows.filter((r) => r.alg === config.jwt.alg && r.activates_at <= now).at(-1);
  const next = rows.find((r) => r.alg === config.jwt.alg && r.activates_at > now);
  if (!current)
    return {
      level: 'warning',
      setting,
      message: `no ${config.jwt.alg} key signs now: the server creates one at start`,
    };
  return {
    level: 'ok',
    setting,
    message: `${rows.length} signing keys unseal; current ${current.kid}${next ? `, next ${next.kid} published` : ''}`,
  };
}

async function checkDatabase(config: Config, secrets: string[]): Promise<Check[]> {
  let handle: DatabaseHandle;
  const where = config.databaseUrl
    ? describeUrl(config.databaseUrl)
    : `embedded database in ${config.dataDir}`;
  if (config.databaseUrl) {
    handle = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  } else {
    if (!existsSync(join(config.dataDir, 'pglite')))
      return [
        {
          level: 'warning',
          setting: 'DATA_DIR',
          message: `no embedded database in ${config.dataDir} yet: the server creates it at start`,
        },
      ];
    try {
      handle = await openDatabase({ dataDir: config.dataDir });
    } catch (err) {
      if (err instanceof DataDirInUseError)
        return [
          {
            level: 'warning',
            setting: 'DATA_DIR',
            message: `the embedded database is in use by process ${err.pid}: stop it to check the database, keys and clock`,
          },
        ];
      throw err;
    }
  }
  try {
    let facts: DatabaseFacts;
    try {
      facts = await withTimeout(databaseFacts(handle.db), TIMEOUT_MS * 2, 'the database');
    } catch (err) {
      return [
        {
          level: 'error',
          setting: config.databaseUrl ? 'DATABASE_URL' : 'DATA_DIR',
          message: `cannot use ${where}: ${reasonOf(err, secrets)}`,
        },
      ];
    }
    const checks: Check[] = [
      {
        level: 'ok',
        setting: config.databaseUrl ? 'DATABASE_URL' : 'DATA_DIR',
        message: `${where} answers: PostgreSQL ${facts.version}${handle.kind === 'pglite' ? ' (embedded PGlite)' : ''}`,
      },
      migrationChecks(facts.applied),
    ];
    if (handle.kind === 'postgres') checks.push(...roleChecks(facts));
    checks.push(clockCheck(await clockOffsetMs(handle.db)));
    if (facts.applied?.length) {
      try {
        checks.push(await keyChecks(handle.db, config));
      } catch (err) {
        checks.push({
          level: 'error',
          setting: 'KEY_ENCRYPTION_KEY',
          message: `cannot read the signing keys: ${reasonOf(err, secrets)}`,
        });
      }
    }
    return checks;
  } finally {
    await handle.close();
  }
}

async function checkRedis(url: string, secrets: string[]): Promise<Check> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await withTimeout(client.connect(), TIMEOUT_MS + 1000, 'Redis');
    const pong = await withTimeout(client.ping(), TIMEOUT_MS, 'Redis');
    const info = await withTimeout(client.info('server'), TIMEOUT_MS, 'Redis');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown version';
    return {
      level: 'ok',
      setting: 'REDIS_URL',
      message: `${describeUrl(url)} answers PING with ${pong} (Redis ${version})`,
    };
  } catch (err) {
    return {
      level: 'error',
      setting: 'REDIS_URL',
      message: `${describeUrl(url)} does not answer: ${reasonOf(err, secrets)}`,
    };
  } finally {
    client.disconnect();
  }
}

async function checkSmtp(url: string, secrets: string[]): Promise<Check> {
  // Connects, greets (EHLO), upgrades with STARTTLS when offered or required and authenticates
  // when the URL has credentials; sends no mail.
  const transport = createTransport({
    url,
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
    dnsTimeout: TIMEOUT_MS,
    logger: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    await withTimeout(transport.verify(), TIMEOUT_MS * 3, 'the SMTP server');
    return {
      level: 'ok',
      setting: 'SMTP_URL',
      message: `${describeUrl(url)} accepts a connection (no mail sent)`,
    };
  } catch (err) {
    return {
      level: 'error',
      setting: 'SMTP_URL',
      message: `${describeUrl(url)} refused or did not answer: ${reasonOf(err, secrets)}`,
    };
  } finally {
    transport.close();
  }
}

/** Runs every live check the configuration calls for, concurrently. */
export async function probe(config: Config): Promise<Check[]> {
  const secrets = secretsOf(config);
  const database = checkDatabase(config, secrets).catch((err: unknown): Check[] => [
    {
      level: 'error',
      setting: config.databaseUrl ? 'DATABASE_URL' : 'DATA_DIR',
      message: `cannot connect to ${config.databaseUrl ? describeUrl(config.databaseUrl) : config.dataDir}: ${reasonOf(err, secrets)}`,
    },
  ]);
  const redis = config.redisUrl ? checkRedis(config.redisUrl, secrets) : undefined;
  const smtp = config.smtpUrl ? checkSmtp(config.smtpUrl, secrets) : undefined;
  const checks = [...(await database)];
  if (redis) checks.push(await redis);
  if (smtp) checks.push(await smtp);
  return checks;
}
