/**
 * `npm run bench:orders [-- --rounds 3 --seconds 5 --connections 32]` (issue 7): orders/s of
 * `POST /orders` on PostgreSQL, Bastion (B) next to bare Fastify + pg doing the same minimal
 * transaction (A, bench/servers/bare-orders.ts), interleaved in one run, in two scenarios:
 * `spread` (each order takes one of 1,000 products: no stock contention) and `hot` (every
 * order takes the same product: all transactions queue on one row lock). Buyers rotate over 64
 * funded users so the wallet rows are not the bottleneck. Each side has its own fresh database
 * (created here, dropped at the end) migrated and seeded the same way; afterwards the ledger and
 * stock invariants are checked on both. One client address: Bastion's global limit is raised.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as argon2 from '@node-rs/argon2';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { type Db, migrateToLatest, openDatabase } from '../src/platform/db/database.js';
import { BASTION_BENCH_ENV } from './lib/bastion-env.js';
import { cpuTimeUs } from './lib/cpu-time.js';
import { createDatabase, dropDatabase } from './lib/pg-database.js';
import { type ServerHandle, startAll, startServer } from './lib/server.js';
import { fmt, median, pct } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    'database-url': {
      type: 'string',
      default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
  },
});
const ROUNDS = Number(args.rounds);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const ADMIN_URL = args['database-url'];
const USERS = 64;
const PRODUCTS = 1000;
const PASSWORD = 'velvet-otter-drifts-past-9-lanterns';
const here = (p: string) => new URL(p, import.meta.url).pathname;

interface Seed {
  readonly users: { id: string; email: string }[];
  readonly products: string[];
}

/** The same users (verified, funded through balanced ledger deposits) and products on a database. */
async function seed(db: Db, seedData: Seed, passwordHash: string): Promise<void> {
  const now = new Date();
  await db
    .insertInto('users')
    .values(
      seedData.users.map((u) => ({
        id: u.id,
        email: u.email,
        email_key: u.email,
        display_name: 'Bench',
        password_hash: passwordHash,
        roles: [],
        email_verified_at: now,
        avatar_url: null,
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
  const funds = 1_000_000_000_000;
  await db
    .insertInto('wallets')
    .values(seedData.users.map((u) => ({ user_id: u.id, balance_cents: funds, updated_at: now })))
    .execute();
  await db
    .insertInto('ledger_entries')
    .values(
      seedData.users.flatMap((u) => {
        const t = uuidv7();
        const base = { transaction_id: t, currency: 'usd', kind: 'deposit', created_at: now };
        return [
          { ...base, id: uuidv7(), account: `wallet:${u.id}`, amount_cents: funds, reference: t },
          { ...base, id: uuidv7(), account: 'external:stripe', amount_cents: -funds, reference: t },
        ];
      }),
    )
    .execute();
  await db
    .insertInto('products')
    .values(
      seedData.products.map((id, i) => ({
        id,
        name: `Product ${i}`,
        description: '',
        price_cents: 100,
        stock: 1_000_000,
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
}

/** Ledger sums to zero, every wallet equals its entries, no negative stock or balance. */
async function invariants(db: Db): Promise<string> {
  const r = await sql<{ total: number; drift: number; neg: number; orders: number }>`
    SELECT (SELECT COALESCE(sum(amount_cents), 0)::bigint FROM ledger_entries) AS total,
           (SELECT count(*)::int FROM wallets w WHERE balance_cents <>
              (SELECT sum(amount_cents) FROM ledger_entries e WHERE e.account = 'wallet:' || w.user_id)) AS drift,
           (SELECT count(*)::int FROM products WHERE stock < 0) +
           (SELECT count(*)::int FROM wallets WHERE balance_cents < 0) AS neg,
           (SELECT count(*)::int FROM orders) AS orders`.execute(db);
  const row = r.rows[0];
  if (!row) return 'no result';
  const ok = Number(row.total) === 0 && row.drift === 0 && row.neg === 0;
  return `${ok ? 'ok' : 'BROKEN'} (${fmt(row.orders)} orders, ledger total ${row.total}, drifted wallets ${row.drift}, negatives ${row.neg})`;
}

type Scenario = 'spread' | 'hot';

interface Side {
  readonly name: 'A' | 'B';
  readonly server: ServerHandle;
  /** Per request: the headers naming the buyer (bearer token or x-user-id). */
  readonly buyer: (i: number) => Record<string, string>;
}

let counter = 0;

async function load(side: Side, scenario: Scenario, products: string[], seconds: number) {
  const run = randomBytes(4).toString('hex');
  const before = cpuTimeUs(side.server.child.pid);
  const result = await autocannon({
    url: `${side.server.origin}/orders`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const i = counter++;
          const productId = scenario === 'hot' ? products[0] : products[i % products.length];
          return {
            ...req,
            headers: {
              'content-type': 'application/json',
              'idempotency-key': `${run}-${i}`,
              ...side.buyer(i),
            },
            body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
          };
        },
      },
    ],
  });
  const after = cpuTimeUs(side.server.child.pid);
  const created = result['2xx'];
  return {
    perSec: created / seconds,
    non2xx: result.non2xx + result.errors,
    cpuUsPerOrder:
      before !== undefined && after !== undefined && created > 0 ? (after - before) / created : NaN,
  };
}

const bastionUrl = await createDatabase('bastion_bench_orders', ADMIN_URL);
const bareUrl = await createDatabase('bare_bench_orders', ADMIN_URL);
const servers: ServerHandle[] = [];
try {
  const seedData: Seed = {
    users: Array.from({ length: USERS }, (_, i) => ({
      id: uuidv7(),
      email: `bench-${i}-${randomBytes(3).toString('hex')}@example.test`,
    })),
    products: Array.from({ length: PRODUCTS }, () => uuidv7()),
  };
  // The default cost, so logins do not upgrade the hash.
  const passwordHash = await argon2.hash(PASSWORD, {
    algorithm: 2,
    memoryCost: 19456,
    timeCost: 2,
    parallelism: 1,
  });
  const handles = [];
  for (const url of [bastionUrl, bareUrl]) {
    const h = await openDatabase({ url, dataDir: 'memory', poolSize: 2 });
    await migrateToLatest(h.db);
    await seed(h.db, seedData, passwordHash);
    handles.push(h);
  }

  const bastionEnv = {
    ...BASTION_BENCH_ENV,
    DATABASE_URL: bastionUrl,
    DATA_DIR: '/tmp/bastion-bench-orders',
  };
  servers.push(
    ...(await startAll([
      startServer('A bare', here('./servers/bare-orders.ts'), {
        env: { BENCH_DATABASE_URL: bareUrl },
      }),
      startServer('B bastion', here('./servers/bastion-flood.ts'), {
        env: { BASTION_FLOOD_ENV: JSON.stringify(bastionEnv) },
      }),
    ])),
  );
  const [bare, bastion] = servers as [ServerHandle, ServerHandle];
  const tokens: string[] = [];
  for (const u of seedData.users) {
    const res = await fetch(`${bastion.origin}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: u.email, password: PASSWORD }),
    });
    if (res.status !== 200) throw new Error(`login ${res.status} ${await res.text()}`);
    tokens.push(((await res.json()) as { accessToken: string }).accessToken);
  }
  const sides: Side[] = [
    {
      name: 'A',
      server: bare,
      buyer: (i) => ({ 'x-user-id': seedData.users[i % USERS]?.id ?? '' }),
    },
    {
      name: 'B',
      server: bastion,
      buyer: (i) => ({ authorization: `Bearer ${tokens[i % USERS]}` }),
    },
  ];

  console.log(
    `orders/s on PostgreSQL (${ADMIN_URL.replace(/\/\/[^@]*@/, '//')}), autocannon ${CONNECTIONS} connections, ` +
      `${ROUNDS} interleaved rounds of ${SECONDS} s per side and scenario; ${USERS} buyers, ` +
      `${PRODUCTS} products; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; ` +
      `Bastion: RATE_LIMIT_GLOBAL_PER_MINUTE raised (one client address), LOG_LEVEL=info to /dev/null`,
  );
  for (const side of sides) await load(side, 'spread', seedData.products, 3); // warm-up
  const results: Record<
    string,
    { a: number[]; b: number[]; ratio: number[]; aCpu: number[]; bCpu: number[] }
  > = {
    spread: { a: [], b: [], ratio: [], aCpu: [], bCpu: [] },
    hot: { a: [], b: [], ratio: [], aCpu: [], bCpu: [] },
  };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of ['spread', 'hot'] as const) {
      const [a, b] = [
        await load(sides[0] as Side, scenario, seedData.products, SECONDS),
        await load(sides[1] as Side, scenario, seedData.products, SECONDS),
      ];
      const r = results[scenario] as (typeof results)['spread'];
      r.a.push(a.perSec);
      r.b.push(b.perSec);
      r.ratio.push(b.perSec / a.perSec);
      r.aCpu.push(a.cpuUsPerOrder);
      r.bCpu.push(b.cpuUsPerOrder);
      console.log(
        `  round ${round} ${scenario.padEnd(6)} A ${fmt(a.perSec)}/s (${fmt(a.cpuUsPerOrder)} µs CPU/order)` +
          `   B ${fmt(b.perSec)}/s (${fmt(b.cpuUsPerOrder)} µs CPU/order)   B/A ${pct(b.perSec / a.perSec)}` +
          (a.non2xx + b.non2xx > 0 ? `   non-2xx A ${a.non2xx} B ${b.non2xx}` : ''),
      );
    }
  }
  for (const [scenario, r] of Object.entries(results)) {
    console.log(
      `  median ${scenario.padEnd(6)} A ${fmt(median(r.a))}/s  B ${fmt(median(r.b))}/s  B/A ${pct(median(r.ratio))}` +
        `  CPU µs/order A ${fmt(median(r.aCpu))} B ${fmt(median(r.bCpu))}`,
    );
  }
  console.log(
    `  load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const [bastionDb, bareDb] = handles as [(typeof handles)[number], (typeof handles)[number]];
  console.log(`  invariants B: ${await invariants(bastionDb.db)}`);
  console.log(`  invariants A: ${await invariants(bareDb.db)}`);
  await Promise.all(handles.map((h) => h.close()));
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  await dropDatabase(bastionUrl, ADMIN_URL).catch(() => {});
  await dropDatabase(bareUrl, ADMIN_URL).catch(() => {});
}
