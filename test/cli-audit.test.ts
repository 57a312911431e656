/**
 * Issue 19: `bastion user create` writes an audit entry like every other account change, in the
 * transaction that creates the account, on the chain the server keeps (same key from the master
 * key): the server then verifies the chain intact with the CLI's entry in it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../src/platform/audit/audit.verify.js';
import { deriveKey } from '../src/platform/crypto.js';
import { type DatabaseHandle, openDatabase } from '../src/platform/db/database.js';
import { createMemoryState } from '../src/platform/state/memory-state.js';
import { TEST_ENV } from './support/app.js';
import { createPostgresDatabase, postgresAdminUrl } from './support/services.js';

const ROOT = join(import.meta.dirname, '..');
const PASSWORD = 'granite heron folds nine maps';
const CLI_TIMEOUT_MS = 120_000;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function bastion(args: string[], env: Record<string, string>, stdin: string) {
  return new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/bastion.mjs', ...args], {
      cwd: ROOT,
      // A clean environment: never this process's DATABASE_URL or REDIS_URL.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'development', ...env },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bastion ${args.join(' ')} timed out: ${stderr}`));
    }, CLI_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
    child.stdin?.end(stdin);
  });
}

const KEY = TEST_ENV.KEY_ENCRYPTION_KEY as string;
const TITLE =
  'one cli.user.created entry per created account, none for a refused duplicate; the chain stays intact';

/**
 * Creates one account twice through the CLI (the second run is refused), then checks the audit
 * entries in the database `open` returns (an embedded one can be opened only once the CLI has
 * exited) and that the server's key verifies the chain.
 */
async function createTwiceAndCheck(
  env: Record<string, string>,
  open: () => Promise<{ handle: DatabaseHandle; close: () => Promise<void> }>,
) {
  const email = `audited.${randomBytes(4).toString('hex')}@example.test`;
  const args = ['user', 'create', '--email', email, '--role', 'admin'];
  const first = await bastion(args, env, PASSWORD);
  expect(first.code, first.stderr).toBe(0);
  const duplicate = await bastion(args, env, PASSWORD);
  expect(duplicate.code).toBe(1);
  const { handle, close } = await open();
  const state = createMemoryState();
  try {
    const user = await handle.db
      .selectFrom('users')
      .select('id')
      .where('email_key', '=', email)
      .executeTakeFirstOrThrow();
    const entries = await handle.db
      .selectFrom('audit_log')
      .select(['action', 'actor_id', 'target_type', 'target_id', 'detail'])
      .execute();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: 'cli.user.created',
      actor_id: null,
      target_type: 'user',
      target_id: user.id,
    });
    expect(JSON.stringify(entries[0]?.detail)).toContain('admin');
    const quiet = { error() {}, info() {} };
    const chain = { key: deriveKey(Buffer.from(KEY, 'base64'), 'audit-chain'), state, log: quiet };
    expect(await verifyAuditChain(chain, handle.db)).toMatchObject({ intact: true, entries: 1 });
  } finally {
    await state.close();
    await close();
  }
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-cli-audit-'));
  dirs.push(dir);
  return dir;
}

describe('bastion user create is audited (issue 19), embedded database', () => {
  it(
    TITLE,
    async () => {
      const dataDir = tempDir();
      const env = { DATA_DIR: dataDir, KEY_ENCRYPTION_KEY: KEY, LOG_LEVEL: 'warn' };
      await createTwiceAndCheck(env, async () => {
        const handle = await openDatabase({ dataDir });
        return { handle, close: () => handle.close() };
      });
    },
    CLI_TIMEOUT_MS * 3,
  );
});

// PostgreSQL at DATABASE_URL or 127.0.0.1 (as test/cli.test.ts); skipped when none answers.
const PG_URL = await postgresAdminUrl();

describe.skipIf(!PG_URL)('bastion user create is audited (issue 19), PostgreSQL', () => {
  let database: DatabaseHandle & { url?: string };
  beforeAll(async () => {
    database = await createPostgresDatabase(PG_URL as string);
  });
  afterAll(async () => database?.close());

  it(
    TITLE,
    async () => {
      const env = {
        DATA_DIR: tempDir(),
        DATABASE_URL: database.url as string,
        KEY_ENCRYPTION_KEY: KEY,
        LOG_LEVEL: 'warn',
      };
      await createTwiceAndCheck(env, async () => ({ handle: database, close: async () => {} }));
    },
    CLI_TIMEOUT_MS * 3,
  );
});
