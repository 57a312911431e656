/**
 * PostgreSQL statements and Redis commands per 1,000 requests of each kind (issue 17's capacity
 * model). The compiled server (`node dist/src/main.js`) runs on a fresh PostgreSQL database and
 * Redis, with `bench/lib/count-ops.mjs` preloaded: it counts every statement sent through `pg`
 * (BEGIN/COMMIT included) and every Redis command sent through ioredis, by name. Between two
 * snapshots (SIGUSR2) one kind of request is sent `--count` times (4 connections); logins and
 * orders fewer (`--count-login`, `--count-orders`), scaled to 1,000.
 *
 *   npm run build && npx tsx bench/ops.ts [--count 1000] [--count-login 200] [--count-orders 500]
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names where the fresh
 * database is made; REDIS_URL defaults to redis://127.0.0.1:6379.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as argon2 from '@node-rs/argon2';
import autocannon from 'autocannon';
import pg from 'pg';
import { uuidv7 } from 'uuidv7';
import { createDatabase, dropDatabase } from './lib/pg-database.js';
import { PRODUCTION_NODE_ARGS } from './lib/production-entry.js';

const ROOT = join(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    'count-login': { type: 'string', default: '200' },
    'count-orders': { type: 'string', default: '500' },
  },
});
const BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PASSWORD = 'velvet-otter-drifts-past-9-lanterns';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const dbUrl = new URL(await createDatabase('bastion_ops', BASE_URL));
const dataDir = mkdtempSync(join(tmpdir(), 'bastion-bench-ops-'));
const countsFile = join(dataDir, 'counts.json');

const child = spawn(
  process.execPath,
  ['--import', './bench/lib/count-ops.mjs', ...PRODUCTION_NODE_ARGS],
  {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL,
      COUNT_OPS_FILE: countsFile,
      RATE_LIMIT_GLOBAL_PER_MINUTE: '10000000',
      RATE_LIMIT_LOGIN_IP_FAILURES: '10000000',
      HASH_QUEUE: '1000',
      LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
let out = '';
let origin = '';
child.stdout?.on('data', (c: Buffer) => {
  if (!origin) out += c.toString();
});

type Counts = { pg: Record<string, number>; redis: Record<string, number> };
async function snapshot(): Promise<Counts> {
  rmSync(countsFile, { force: true });
  child.kill('SIGUSR2');
  for (let i = 0; i < 200; i++) {
    try {
      return JSON.parse(readFileSync(countsFile, 'utf8')) as Counts;
    } catch {
      await sleep(25);
    }
  }
  throw new Error('no counts');
}

const diff = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(b)
      .map(([k, v]) => [k, v - (a[k] ?? 0)] as const)
      .filter(([, v]) => v > 0),
  );
const total = (x: Record<string, number>) => Object.values(x).reduce((s, v) => s + v, 0);

try {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${out}`);
    const port = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    if (port) {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
      if (res?.status === 200) {
        origin = `http://127.0.0.1:${port}`;
        break;
      }
    }
    await sleep(100);
  }

  // Seed a verified, funded buyer and products the way bench/orders.ts does (balanced ledger).
  const db = new pg.Client({ connectionString: dbUrl.toString() });
  db.on('error', (err) => process.stderr.write(`seed connection: ${err.message}\n`));
  await db.connect();
  const userId = uuidv7();
  const email = `ops-${randomBytes(3).toString('hex')}@example.test`;
  const hash = await argon2.hash(PASSWORD, {
    algorithm: 2,
    memoryCost: 19456,
    timeCost: 2,
    parallelism: 1,
  });
  const now = new Date();
  const funds = 1_000_000_000_000;
  await db.query(
    `INSERT INTO users (id, email, email_key, display_name, password_hash, roles, email_verified_at,
       avatar_url, created_at, updated_at) VALUES ($1, $2, $2, 'Ops', $3, '{}', $4, NULL, $4, $4)`,
    [userId, email, hash, now],
  );
  await db.query('INSERT INTO wallets (user_id, balance_cents, updated_at) VALUES ($1, $2, $3)', [
    userId,
    funds,
    now,
  ]);
  const t = uuidv7();
  await db.query(
    `INSERT INTO ledger_entries (id, transaction_id, account, amount_cents, currency, kind,
       reference, created_at) VALUES ($1, $3, $4, $5, 'usd', 'deposit', $8, $6),
       ($2, $3, 'external:stripe', $7, 'usd', 'deposit', $8, $6)`,
    [uuidv7(), uuidv7(), t, `wallet:${userId}`, funds, now, -funds, t],
  );
  const products = Array.from({ length: 100 }, () => uuidv7());
  for (const [i, id] of products.entries()) {
    await db.query(
      `INSERT INTO products (id, name, description, price_cents, stock, created_at, updated_at)
       VALUES ($1, $2, '', 100, 1000000, $3, $3)`,
      [id, `Product ${i}`, now],
    );
  }
  await db.end();

  const first = await fetch(`${origin}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (first.status !== 200) throw new Error(`login ${first.status} ${await first.text()}`);
  const device =
    first.headers
      .getSetCookie()
      .map((c) => c.split(';')[0] ?? '')
      .find((c) => c.includes('bastion_device=')) ?? '';
  const { accessToken } = (await first.json()) as { accessToken: string };
  const bearer = { authorization: `Bearer ${accessToken}` };
  const run = randomBytes(4).toString('hex');
  let counter = 0;

  const kinds: [string, number, autocannon.Options][] = [
    ['GET /health/live', Number(opts.count), { url: `${origin}/health/live` }],
    ['GET /auth/me (bearer)', Number(opts.count), { url: `${origin}/auth/me`, headers: bearer }],
    [
      'POST /auth/login (device cookie)',
      Number(opts['count-login']),
      {
        url: `${origin}/auth/login`,
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: device },
        body: JSON.stringify({ email, password: PASSWORD }),
      },
    ],
    [
      'POST /orders (1 line)',
      Number(opts['count-orders']),
      {
        url: `${origin}/orders`,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => {
              const i = counter++;
              return {
                ...req,
                headers: {
                  'content-type': 'application/json',
                  'idempotency-key': `${run}-${i}`,
                  ...bearer,
                },
                body: JSON.stringify({
                  items: [{ productId: products[i % products.length], quantity: 1 }],
                }),
              };
            },
          },
        ],
      },
    ],
  ];

  console.log(
    `statements (pg) and commands (Redis) per 1,000 requests; compiled entry on PostgreSQL + ` +
      `Redis, counted in the server process; Node ${process.version}; load average ${load()}\n`,
  );
  console.log(
    '| request | n | 2xx | pg statements / 1,000 | Redis commands / 1,000 | pg by kind (per request) | Redis by command (per request) |',
  );
  console.log('|---|---:|---:|---:|---:|---|---|');
  for (const [label, n, options] of kinds) {
    const before = await snapshot();
    const r = await autocannon({ connections: 4, amount: n, ...options });
    await sleep(200);
    const after = await snapshot();
    const p = diff(before.pg, after.pg);
    const q = diff(before.redis, after.redis);
    const per = (x: Record<string, number>) =>
      Object.entries(x)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${(v / n).toFixed(2)}`)
        .join(', ');
    console.log(
      `| ${label} | ${n} | ${r['2xx']} | ${((total(p) * 1000) / n).toFixed(0)} | ` +
        `${((total(q) * 1000) / n).toFixed(0)} | ${per(p)} | ${per(q)} |`,
    );
  }
  console.log(`\nload average at end ${load()}`);
} finally {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  await dropDatabase(dbUrl.toString(), BASE_URL).catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
}
