/**
 * Least-privilege database roles (issue 17), on real PostgreSQL whatever this run's DATABASE_URL
 * says (roles and privileges are PostgreSQL's; under CI=true a missing server fails the file).
 * A fresh database and two fresh roles: `bastion migrate` runs with MIGRATION_DATABASE_URL as the
 * owner and grants DATABASE_URL's role; the app then runs as that role through register → login
 * → order → audit verify, and the same role is refused DDL and any change to the audit log or the
 * ledger with insufficient_privilege (42501), while the owner (control) is not refused by
 * privileges: its DDL works (rolled back) and only the append-only triggers stop its UPDATEs.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/platform/clock.js';
import { migrateToLatest, openDatabase } from '../../src/platform/db/database.js';
import { appRoleGrants } from '../../src/platform/db/grants.js';
import { mediaOrphanTask } from '../../src/platform/media/media.retention.js';
import { accountTestEnv, BUILD_TIMEOUT_MS } from '../support/accounts.js';
import { type Actor, createAdmin } from '../support/actors.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { bearer, login, registerAndVerify } from '../support/auth.js';
import { solidImage } from '../support/images.js';
import { imageUpload } from '../support/multipart.js';
import { postgresAdminUrl, type TestDatabase } from '../support/services.js';
import {
  auditLedger,
  balance,
  CLEAN_LEDGER,
  createProduct,
  fund,
  placeOrder,
} from '../support/shop.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PG_URL = await postgresAdminUrl(); // throws under CI=true when PostgreSQL does not answer

const suffix = randomBytes(5).toString('hex');
const OWNER = `bastion_owner_${suffix}`;
const APP = `bastion_app_${suffix}`;
const DB_NAME = `bastion_lp_${suffix}`;
const OWNER_PASSWORD = `owner-pw-${randomBytes(8).toString('hex')}`;
const APP_PASSWORD = `app-pw-${randomBytes(8).toString('hex')}`;

function urlAs(role: string | undefined, password: string | undefined, database: string): string {
  const url = new URL(PG_URL as string);
  if (role) url.username = role;
  if (password) url.password = password;
  url.pathname = `/${database}`;
  return url.toString();
}

async function asClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The SQLSTATE `statement` fails with, or 'ok'; always rolled back. */
async function outcome(client: pg.Client, statement: string): Promise<string> {
  await client.query('BEGIN');
  try {
    await client.query(statement);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? 'error-without-code';
  } finally {
    await client.query('ROLLBACK');
  }
}

const COUNTS =
  'SELECT (SELECT count(*) FROM audit_log) AS audit, (SELECT count(*) FROM ledger_entries) AS ledger';

function runCli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/bastion.mjs', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe.skipIf(!PG_URL)('least-privilege database roles (PostgreSQL)', () => {
  const adminDbUrl = () => urlAs(undefined, undefined, DB_NAME);
  const ownerUrl = urlAs(OWNER, OWNER_PASSWORD, DB_NAME);
  const appUrl = urlAs(APP, APP_PASSWORD, DB_NAME);
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-lp-'));
  let smtp: TestSmtp;
  let database: TestDatabase | undefined;
  let ctx: TestContext | undefined;
  let admin: Actor;
  let migrateRun: { code: number | null; output: string };

  beforeAll(async () => {
    await asClient(PG_URL as string, async (c) => {
      await c.query(`CREATE ROLE ${OWNER} LOGIN PASSWORD '${OWNER_PASSWORD}'`);
      await c.query(`CREATE ROLE ${APP} LOGIN PASSWORD '${APP_PASSWORD}'`);
      await c.query(`CREATE DATABASE ${DB_NAME} OWNER ${OWNER}`);
    });
    // As docs/database-roles.md says, once, as a superuser.
    await asClient(adminDbUrl(), async (c) => {
      await c.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
      await c.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${OWNER}`);
      await c.query(`GRANT USAGE ON SCHEMA public TO ${APP}`);
    });

    migrateRun = await runCli(['migrate'], {
      DATA_DIR: dataDir,
      DATABASE_URL: appUrl,
      MIGRATION_DATABASE_URL: ownerUrl,
    });
    if (migrateRun.code !== 0) throw new Error(`bastion migrate failed:\n${migrateRun.output}`);

    // The server, as the app role: its start-up migration step finds nothing to do.
    const handle = await openDatabase({ url: appUrl, dataDir: 'memory' });
    database = handle;
    expect(await migrateToLatest(handle.db)).toEqual([]);
    smtp = await startTestSmtp();
    const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
    ctx = await createTestApp({ env: accountTestEnv(smtp), database: handle, deps: { clock } });
    admin = await createAdmin(ctx.app, handle.db, clock);
    // Rows the attacks below try to change, whatever order the tests run in (CI shuffles).
    const holder = await registerAndVerify(ctx.app, smtp);
    await fund(handle.db, holder.userId, 100);
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await ctx?.close();
    await database?.close();
    await smtp?.close();
    rmSync(dataDir, { recursive: true, force: true });
    await asClient(PG_URL as string, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${APP}`);
      await c.query(`DROP ROLE IF EXISTS ${OWNER}`);
    });
  });

  it('bastion migrate ran as the owner, granted the app role, and printed no password', () => {
    expect(migrateRun.output).toContain(`granted ${APP}`);
    expect(migrateRun.output).not.toContain(OWNER_PASSWORD);
    expect(migrateRun.output).not.toContain(APP_PASSWORD);
  });

  it('the tables belong to the owner; the app role owns nothing and is no superuser', async () => {
    await asClient(appUrl, async (c) => {
      const me = await c.query(
        `SELECT current_user AS role, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls
           FROM pg_roles WHERE rolname = current_user`,
      );
      expect(me.rows[0]).toEqual({
        role: APP,
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolbypassrls: false,
      });
      const owners = await c.query(
        `SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`,
      );
      expect(owners.rows).toEqual([{ tableowner: OWNER }]);
    });
  });

  it('as the app role: register, login, fund, order and audit verify all work', async () => {
    const app = (ctx as TestContext).app;
    const db = (database as TestDatabase).db;
    const { email, password, userId } = await registerAndVerify(app, smtp);
    const user = await login(app, email, password);
    expect(user.userId).toBe(userId);
    await fund(db, userId, 10_000);
    const product = await createProduct(app, admin.headers, { priceCents: 1_250, stock: 3 });
    const order = await placeOrder(app, bearer(user.accessToken), {
      items: [{ productId: product, quantity: 2 }],
    });
    expect(order.statusCode, order.body).toBe(201);
    const wallet = await balance(app, bearer(user.accessToken));
    expect(wallet.json().balanceCents).toBe(10_000 - 2_500);
    expect(await auditLedger(db)).toEqual(CLEAN_LEDGER);
    const verify = await app.inject({ url: '/admin/audit/verify', headers: admin.headers });
    expect(verify.statusCode, verify.body).toBe(200);
    expect(verify.json()).toMatchObject({ intact: true, firstBrokenId: null });
    expect(verify.json().entries).toBeGreaterThan(0);
  });

  it('as the app role: an avatar is stored, served and replaced, and the media sweep runs', async () => {
    const app = (ctx as TestContext).app;
    const db = (database as TestDatabase).db;
    const { email, password } = await registerAndVerify(app, smtp);
    const headers = bearer((await login(app, email, password)).accessToken);
    const upload = async (width: number): Promise<string> => {
      const body = imageUpload(await solidImage(width, 4));
      const res = await app.inject({
        method: 'PUT',
        url: '/users/me/avatar',
        headers: { ...headers, ...body.headers },
        payload: body.payload,
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().avatarUrl;
    };
    const first = await upload(4);
    expect((await app.inject({ url: first })).statusCode).toBe(200);
    const second = await upload(5);
    expect((await app.inject({ url: first })).statusCode).toBe(404);
    expect((await app.inject({ url: second })).statusCode).toBe(200);
    // Its batches lock rows FOR UPDATE SKIP LOCKED, which needs UPDATE on the table.
    await expect(mediaOrphanTask().run(db, new Date(), 10)).resolves.toBe(0);
  });

  // Each statement: refused to the app role by privileges (42501, before any trigger runs); the
  // owner (control) is refused by nothing (DDL, rolled back) or only by the append-only trigger.
  const attacks: [string, string, string][] = [
    ['DROP TABLE users CASCADE', '42501', 'ok'],
    ['DROP TABLE audit_log', '42501', 'ok'],
    ['ALTER TABLE users ADD COLUMN pwned text', '42501', 'ok'],
    ['ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only', '42501', 'ok'],
    ['ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only', '42501', 'ok'],
    ['TRUNCATE users CASCADE', '42501', 'ok'],
    ['TRUNCATE audit_log', '42501', 'P0001'],
    ['TRUNCATE ledger_entries', '42501', 'P0001'],
    ['CREATE TABLE pwned (x int)', '42501', 'ok'],
    ["UPDATE audit_log SET action = 'forged'", '42501', 'P0001'],
    ['DELETE FROM audit_log', '42501', 'P0001'],
    ['UPDATE ledger_entries SET amount_cents = amount_cents * 2', '42501', 'P0001'],
    ['DELETE FROM ledger_entries', '42501', 'P0001'],
    // Media are served with their stored type: an HTML row is refused to both (check_violation),
    // and only the owner may drop the constraint.
    [
      'INSERT INTO media (name, content_type, etag, bytes) ' +
        `VALUES (repeat('a', 43) || '.webp', 'text/html', '"x"', '\\x3c')`,
      '23514',
      '23514',
    ],
    ['ALTER TABLE media DROP CONSTRAINT media_content_type_check', '42501', 'ok'],
  ];

  const rowCounts = () => asClient(ownerUrl, async (c) => (await c.query(COUNTS)).rows[0]);

  it.each(attacks)('%s: app role %s, owner %s', async (statement, asApp, asOwner) => {
    const before = await rowCounts();
    expect(Number(before.ledger)).toBeGreaterThan(0);
    expect(await asClient(appUrl, (c) => outcome(c, statement))).toBe(asApp);
    expect(await asClient(ownerUrl, (c) => outcome(c, statement))).toBe(asOwner);
    const after = await rowCounts();
    expect(after).toEqual(before);
  });

  it('the app role may still append to the audit log and the ledger (what the app does)', async () => {
    await asClient(appUrl, async (c) => {
      const audit = await c.query(
        `SELECT has_table_privilege('audit_log', 'INSERT') AS ins,
                has_table_privilege('audit_log', 'SELECT') AS sel,
                has_table_privilege('ledger_entries', 'INSERT') AS ledger_ins,
                has_table_privilege('users', 'UPDATE') AS users_upd`,
      );
      expect(audit.rows[0]).toEqual({ ins: true, sel: true, ledger_ins: true, users_upd: true });
    });
  });

  it('deploy/postgres/grants.sql is what bastion migrate grants', () => {
    const file = readFileSync(join(ROOT, 'deploy/postgres/grants.sql'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() && !line.startsWith('--'));
    expect(file).toEqual(appRoleGrants('bastion_app'));
  });
});
