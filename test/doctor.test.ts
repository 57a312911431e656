/**
 * `bastion doctor` connects (issue 17): in real child processes against a real PostgreSQL
 * database, Redis and SMTP server it reports each one ok, the migrations current, the signing
 * keys unsealed with KEY_ENCRYPTION_KEY, the clock against the database's now(), and warns about
 * a superuser or table-owning role but not about a least-privileged one; with a wrong
 * key-encryption key or closed ports it prints a FIX line naming each setting, exits 1 and never
 * prints a secret or a URL's password. PostgreSQL is used whatever DATABASE_URL says; under
 * CI=true a missing PostgreSQL or Redis fails the file instead of skipping it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSigningKey } from '../src/auth/keys/keyring.js';
import { clockCheck, describeUrl, MAX_CLOCK_OFFSET_MS } from '../src/doctor-checks.js';
import { grantAppRole } from '../src/platform/db/grants.js';
import {
  openPostgresTestDatabase,
  postgresAdminUrl,
  redisUrl,
  type TestDatabase,
} from './support/services.js';
import { startTestSmtp, type TestSmtp } from './support/smtp.js';

const ROOT = join(import.meta.dirname, '..');
const RUN_TIMEOUT_MS = 120_000;
const KEY = randomBytes(32).toString('base64');
const OTHER_KEY = randomBytes(32).toString('base64');

const PG_URL = await postgresAdminUrl(); // throws under CI=true when PostgreSQL does not answer
const REDIS_URL = await redisUrl(); // likewise for Redis

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-doctor-'));
  dirs.push(dir);
  return dir;
}

/** `bastion doctor` (or `args`) in a child process with only `env` (and a fresh DATA_DIR). */
function doctor(env: Record<string, string>, args = ['doctor']) {
  return new Promise<{ code: number | null; stdout: string; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/bastion.mjs', ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        DATA_DIR: tempDir(),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, output: stdout + stderr });
    });
  });
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

describe('clock offset against the database', () => {
  it('warns beyond 2 s either way, ok within', () => {
    expect(clockCheck(MAX_CLOCK_OFFSET_MS + 500).level).toBe('warning');
    expect(clockCheck(-(MAX_CLOCK_OFFSET_MS + 500)).level).toBe('warning');
    expect(clockCheck(MAX_CLOCK_OFFSET_MS + 500).message).toMatch(/2\.5 s behind/);
    expect(clockCheck(1500).level).toBe('ok');
  });

  it('prints URLs without their credentials', () => {
    expect(describeUrl('redis://:hunter2@cache:6380/1')).toBe('redis://cache:6380/1');
    // secretlint-disable-next-line -- a made-up credential: the test proves it is not printed
    expect(describeUrl('postgres://app:hunter2@db/bastion')).toBe('postgres://db/bastion');
  });
});

describe('bastion doctor on the embedded database', () => {
  it(
    'opens DATA_DIR: version, migrations, clock and keys; another key-encryption key is a FIX',
    async () => {
      const env = { DATA_DIR: tempDir(), KEY_ENCRYPTION_KEY: KEY };
      const empty = await doctor(env);
      expect(empty.stdout).toMatch(/^WARN +DATA_DIR: no embedded database in \S+ yet/m);

      expect((await doctor(env, ['migrate'])).code).toBe(0);
      const rotated = await doctor(env, ['keys', 'rotate']);
      expect(rotated.code, rotated.output).toBe(0);
      const kid = /new EdDSA key (\S+):/.exec(rotated.stdout)?.[1] as string;
      expect(kid).toBeTruthy();

      const run = await doctor(env);
      expect(run.code, run.output).toBe(0);
      expect(run.stdout).toMatch(
        /^ok +DATA_DIR: embedded database in \S+ answers: PostgreSQL \d+\S* \(embedded PGlite\)/m,
      );
      expect(run.stdout).toMatch(/^ok +migrations: current/m);
      expect(run.stdout).toMatch(/^ok +clock: /m);
      // The rotated key is published and signs in six minutes: none signs yet.
      expect(run.stdout).toMatch(/^WARN +KEY_ENCRYPTION_KEY: no EdDSA key signs now/m);

      const wrong = await doctor({ ...env, KEY_ENCRYPTION_KEY: OTHER_KEY });
      expect(wrong.code, wrong.output).toBe(1);
      expect(wrong.stdout).toMatch(
        new RegExp(`^FIX +KEY_ENCRYPTION_KEY: signing key ${kid} does not unseal`, 'm'),
      );
      expect(wrong.output).not.toContain(OTHER_KEY);
      expect(wrong.output).not.toContain(KEY);
    },
    RUN_TIMEOUT_MS * 4,
  );
});

describe.skipIf(!PG_URL || !REDIS_URL)('bastion doctor connects (PostgreSQL, Redis, SMTP)', () => {
  let database: TestDatabase & { url?: string };
  let smtp: TestSmtp;
  let kid: string;
  const appRole = `bastion_doctor_app_${randomBytes(4).toString('hex')}`;
  const appPassword = `app-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    database = await openPostgresTestDatabase(PG_URL as string);
    kid = await createSigningKey(
      database.db,
      Buffer.from(KEY, 'base64'),
      'EdDSA',
      new Date(Date.now() - 1000),
      900,
    );
    await sql.raw(`CREATE ROLE ${appRole} LOGIN PASSWORD '${appPassword}'`).execute(database.db);
    await sql.raw(`GRANT USAGE ON SCHEMA public TO ${appRole}`).execute(database.db);
    await grantAppRole(database.db, appRole);
    smtp = await startTestSmtp();
  }, RUN_TIMEOUT_MS);

  afterAll(async () => {
    await smtp?.close();
    await database?.close();
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: PG_URL as string });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${appRole}`);
    await admin.end();
  });

  const healthy = () => ({
    DATABASE_URL: database.url as string,
    REDIS_URL: REDIS_URL as string,
    SMTP_URL: smtp.url,
    KEY_ENCRYPTION_KEY: KEY,
  });

  it(
    'everything answers: ok lines for the database, migrations, clock, keys, Redis and SMTP; exit 0',
    async () => {
      const run = await doctor(healthy());
      expect(run.code, run.output).toBe(0);
      expect(run.stdout).toMatch(/^ok +DATABASE_URL: postgres:\/\/\S+ answers: PostgreSQL \d+/m);
      expect(run.stdout).toMatch(/^ok +migrations: current/m);
      expect(run.stdout).toMatch(/^ok +clock: within \d+\.\d s of the database's now\(\)/m);
      expect(run.stdout).toMatch(
        new RegExp(`^ok +KEY_ENCRYPTION_KEY: 1 signing keys unseal; current ${kid}`, 'm'),
      );
      expect(run.stdout).toMatch(/^ok +REDIS_URL: redis:\/\/\S+ answers PING with PONG/m);
      expect(run.stdout).toMatch(/^ok +SMTP_URL: smtp:\/\/127\.0\.0\.1:\d+ accepts/m);
      expect(smtp.messages).toHaveLength(0); // verified, nothing sent
      expect(run.output).not.toContain(KEY);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'as the migrating superuser role it warns (superuser, owns the tables); as the app role it does not',
    async () => {
      const owner = await doctor(healthy());
      const { rows } = await sql<{
        role: string;
        rolsuper: boolean;
      }>`SELECT current_user AS role, rolsuper FROM pg_roles WHERE rolname = current_user`.execute(
        database.db,
      );
      const me = rows[0] as { role: string; rolsuper: boolean };
      expect(owner.stdout).toMatch(
        new RegExp(`^WARN +DATABASE_URL: role ${me.role} owns \\d+ tables`, 'm'),
      );
      if (me.rolsuper)
        expect(owner.stdout).toMatch(
          new RegExp(`^WARN +DATABASE_URL: role ${me.role} is a superuser`, 'm'),
        );

      const asApp = await doctor({
        ...healthy(),
        DATABASE_URL: withCredentials(database.url as string, appRole, appPassword),
      });
      expect(asApp.code, asApp.output).toBe(0);
      expect(asApp.stdout).toMatch(
        new RegExp(`^ok +DATABASE_URL: role ${appRole}: no superuser, owns no tables`, 'm'),
      );
      expect(asApp.stdout).not.toMatch(/^WARN +DATABASE_URL/m);
      expect(asApp.stdout).toMatch(/^ok +KEY_ENCRYPTION_KEY: 1 signing keys unseal/m);
      expect(asApp.output).not.toContain(appPassword);
    },
    RUN_TIMEOUT_MS * 2,
  );

  it(
    'attack: another key-encryption key cannot unseal the signing keys: FIX, exit 1, no key printed',
    async () => {
      const run = await doctor({ ...healthy(), KEY_ENCRYPTION_KEY: OTHER_KEY });
      expect(run.code, run.output).toBe(1);
      expect(run.stdout).toMatch(
        new RegExp(`^FIX +KEY_ENCRYPTION_KEY: signing key ${kid} does not unseal`, 'm'),
      );
      expect(run.output).not.toContain(OTHER_KEY);
      expect(run.output).not.toContain(KEY);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'wrong ports: a FIX line names each of DATABASE_URL, REDIS_URL and SMTP_URL; no password printed',
    async () => {
      const [pgPort, redisPort, smtpPort] = [
        await closedPort(),
        await closedPort(),
        await closedPort(),
      ];
      const secrets = {
        pg: `pg-${randomBytes(6).toString('hex')}`,
        redis: `redis-${randomBytes(6).toString('hex')}`,
        smtp: `smtp-${randomBytes(6).toString('hex')}`,
      };
      const run = await doctor({
        DATABASE_URL: `postgres://bastion:${secrets.pg}@127.0.0.1:${pgPort}/bastion`,
        REDIS_URL: `redis://:${secrets.redis}@127.0.0.1:${redisPort}`,
        SMTP_URL: `smtp://mailer:${secrets.smtp}@127.0.0.1:${smtpPort}`,
        KEY_ENCRYPTION_KEY: KEY,
      });
      expect(run.code, run.output).toBe(1);
      expect(run.stdout).toMatch(
        new RegExp(
          `^FIX +DATABASE_URL: cannot use postgres://127\\.0\\.0\\.1:${pgPort}/bastion: \\S`,
          'm',
        ),
      );
      expect(run.stdout).toMatch(
        new RegExp(
          `^FIX +REDIS_URL: redis://127\\.0\\.0\\.1:${redisPort} does not answer: \\S`,
          'm',
        ),
      );
      expect(run.stdout).toMatch(
        new RegExp(
          `^FIX +SMTP_URL: smtp://127\\.0\\.0\\.1:${smtpPort} refused or did not answer`,
          'm',
        ),
      );
      for (const secret of [...Object.values(secrets), KEY])
        expect(run.output).not.toContain(secret);
    },
    RUN_TIMEOUT_MS,
  );
});
