/**
 * A tested restore (issue 17): the backup and restore commands of docs/deploy.md, read from the
 * doc and run word for word (roles and database renamed for this run), on the compiled server.
 * PostgreSQL (real, whatever this run's DATABASE_URL says; under CI=true a missing one fails the
 * file): an account is made through the server running as the app role, `pg_dump -Fc` backs the
 * database up, the restore sets it aside and restores the dump into a fresh one, and the server
 * started again on it signs the account in. Embedded: the server is stopped, its DATA_DIR copied,
 * a server started on the copy signs the account in. Both with the same KEY_ENCRYPTION_KEY, never
 * in the backup.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, uniqueEmail } from './support/auth.js';
import {
  buildDistIfStale,
  type Instance,
  portIsFree,
  ROOT,
  request,
  startInstance,
} from './support/instances.js';
import { postgresAdminUrl } from './support/services.js';
import { extractLink, startTestSmtp, type TestSmtp } from './support/smtp.js';

const PG_URL = (await postgresAdminUrl()) as string; // throws under CI=true when none answers

/** The `sh` block of docs/deploy.md marked `<!-- test/restore.test.ts: NAME -->`. */
function documented(name: string): string {
  const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
  const block = new RegExp(`<!-- test/restore\\.test\\.ts: ${name} -->\\n\`\`\`sh\\n([^]*?)\`\`\``);
  const commands = block.exec(doc)?.[1];
  if (!commands) throw new Error(`docs/deploy.md has no block ${name}`);
  return commands;
}

function sh(script: string, env: Record<string, string>, cwd: string): string {
  const run = spawnSync('sh', ['-ec', script], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`failed (${run.status}):\n${script}\n${run.stderr}`);
  return run.stdout + run.stderr;
}

const work = mkdtempSync(join(tmpdir(), 'bastion-restore-'));
const KEY_ENCRYPTION_KEY = randomBytes(32).toString('base64');
let smtp: TestSmtp;

/** The server's environment here: development over loopback, the production key setting. */
function serverEnv(extra: Record<string, string>): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    SMTP_URL: smtp.url,
    KEY_ENCRYPTION_KEY,
    SHUTDOWN_TIMEOUT_MS: '10000',
    RETENTION_INTERVAL_SECONDS: '0',
    LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
    LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0',
    ...extra,
  };
}

const ready = (port: number) =>
  request(port, { path: '/health/ready' }).then(
    (a) => a.status === 200,
    () => false,
  );

const post = (port: number, path: string, json: unknown) =>
  request(port, {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });

/** Register, verify from the mail, log in: the account's id. */
async function makeAccount(port: number, email: string): Promise<string> {
  const registered = await post(port, '/auth/register', {
    email,
    password: STRONG_PASSWORD,
    displayName: 'Before Backup',
  });
  expect(registered.status, registered.body).toBe(202);
  const mail = await smtp.waitForMail(email, (m) => m.subject.includes('Confirm'), 20_000);
  const token = extractLink(mail, '/verify-email').searchParams.get('token');
  const verified = await post(port, '/auth/verify-email', { token, password: STRONG_PASSWORD });
  expect(verified.status, verified.body).toBe(200);
  return signIn(port, email);
}

/** Signs in and reads /auth/me with the new access token: the account's id. */
async function signIn(port: number, email: string): Promise<string> {
  const login = await post(port, '/auth/login', { email, password: STRONG_PASSWORD });
  expect(login.status, login.body).toBe(200);
  const me = await request(port, {
    path: '/auth/me',
    headers: { authorization: `Bearer ${JSON.parse(login.body).accessToken}` },
  });
  expect(me.status, me.body).toBe(200);
  expect(JSON.parse(me.body).user.email).toBe(email);
  return JSON.parse(me.body).user.id;
}

/** SIGTERM, a clean exit, the port free. */
async function stop(instance: Instance): Promise<void> {
  expect(await instance.stop('SIGTERM')).toBe(0);
  expect(await portIsFree(instance.port)).toBe(true);
  // The server's notices were on the wire or done, never cut mid-transaction by the stop.
  expect(smtp.errors).toEqual([]);
}

const running: Instance[] = [];
async function start(name: string, env: Record<string, string>): Promise<Instance> {
  const instance = await startInstance(name, { env: serverEnv(env), ready });
  running.push(instance);
  return instance;
}

beforeAll(async () => {
  buildDistIfStale();
  smtp = await startTestSmtp();
}, 120_000);

afterAll(async () => {
  for (const i of running) i.kill();
  await smtp?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('restore from pg_dump (PostgreSQL), as docs/deploy.md says', () => {
  const suffix = randomBytes(4).toString('hex');
  const OWNER = `bastion_owner_${suffix}`;
  const APP = `bastion_app_${suffix}`;
  const DB = `bastion_restore_${suffix}`;
  const dir = join(work, 'postgres');
  const admin = new URL(PG_URL);
  const libpq = {
    PGHOST: admin.hostname,
    PGPORT: admin.port || '5432',
    ...(admin.password ? { PGPASSWORD: decodeURIComponent(admin.password) } : {}),
  };
  const superuser = decodeURIComponent(admin.username) || 'postgres';

  /** The doc's names for this run: roles, databases, the superuser, grants.sql for this app role. */
  const forThisRun = (text: string) =>
    text
      .replace(/\bbastion_owner\b/g, OWNER)
      .replace(/\bbastion_app\b/g, APP)
      .replace(/\bbastion_damaged\b/g, `${DB}_damaged`)
      .replace(/\bbastion\b(?=[\s;'"]|$)/gm, DB)
      .replace(/-U postgres\b/g, `-U ${superuser}`)
      .replace('deploy/postgres/grants.sql', join(dir, 'grants.sql'));

  const url = (role: string) => {
    const u = new URL(PG_URL);
    u.username = role;
    u.password = `${role}-pw`;
    u.pathname = `/${DB}`;
    return u.toString();
  };

  async function asSuperuser<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const u = new URL(PG_URL);
    u.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: u.toString() });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'grants.sql'),
      forThisRun(readFileSync(join(ROOT, 'deploy/postgres/grants.sql'), 'utf8')),
    );
    // The roles and the database as deploy/postgres/10-roles.sh makes them.
    await asSuperuser('postgres', async (c) => {
      await c.query(`CREATE ROLE ${OWNER} LOGIN PASSWORD '${OWNER}-pw'`);
      await c.query(`CREATE ROLE ${APP} LOGIN PASSWORD '${APP}-pw'`);
      await c.query(`CREATE DATABASE ${DB} OWNER ${OWNER}`);
    });
    await asSuperuser(DB, async (c) => {
      await c.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
      await c.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${OWNER}`);
      await c.query(`GRANT USAGE ON SCHEMA public TO ${APP}`);
    });
  });

  afterAll(async () => {
    await asSuperuser('postgres', async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
      await c.query(`DROP DATABASE IF EXISTS ${DB}_damaged WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${APP}`);
      await c.query(`DROP ROLE IF EXISTS ${OWNER}`);
    });
  });

  it('an account made before the backup signs in on the restored database', async () => {
    const env = { DATA_DIR: join(dir, 'data'), DATABASE_URL: url(APP) };
    sh(
      `"${process.execPath}" bin/bastion.mjs migrate`,
      {
        ...env,
        MIGRATION_DATABASE_URL: url(OWNER),
        LOG_LEVEL: 'warn',
      },
      ROOT,
    );
    const before = await start('before backup', env);
    const email = uniqueEmail('restore-pg');
    const userId = await makeAccount(before.port, email);
    await stop(before);

    sh(forThisRun(documented('backup-postgres')), libpq, dir);
    expect(existsSync(join(dir, 'bastion.dump'))).toBe(true);
    // The damage the restore repairs: a table is lost from the live database.
    await asSuperuser(DB, (c) => c.query('DROP TABLE users CASCADE'));

    sh(forThisRun(documented('restore-postgres')), libpq, dir);
    const after = await start('restored', env);
    expect(await signIn(after.port, email)).toBe(userId);
    await stop(after);

    // The restored database is the one named in DATABASE_URL, the owner's, the app role's tables.
    const owners = await asSuperuser(DB, (c) =>
      c.query(`SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`),
    );
    expect(owners.rows).toEqual([{ tableowner: OWNER }]);
  }, 120_000);
});

describe('restore of the embedded DATA_DIR, as docs/deploy.md says', () => {
  it('an account made before the backup signs in on a server started on the copy', async () => {
    const dataDir = join(work, 'embedded', 'data');
    const backupDir = join(work, 'embedded', 'backup');
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(backupDir);
    const before = await start('embedded', { DATA_DIR: dataDir });
    const email = uniqueEmail('restore-embedded');
    const userId = await makeAccount(before.port, email);
    await stop(before);

    const env = { DATA_DIR: dataDir, BACKUP_DIR: backupDir };
    sh(documented('backup-embedded'), env, work);
    // A clean stop left no lock; KEY_ENCRYPTION_KEY was set, so no key file is in the backup.
    expect(existsSync(join(backupDir, 'bastion-data', 'bastion.lock'))).toBe(false);
    expect(existsSync(join(backupDir, 'bastion-data', 'dev-key-encryption.key'))).toBe(false);

    // The damage: the data directory is lost.
    rmSync(dataDir, { recursive: true });
    sh(documented('restore-embedded'), env, work);
    const after = await start('embedded, restored', { DATA_DIR: dataDir });
    expect(await signIn(after.port, email)).toBe(userId);
    await stop(after);
  }, 120_000);
});
