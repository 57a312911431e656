/**
 * `npm run bench:flood [-- --seconds 20 --connections 50 --no-readme]` (issue 5, "Done when"):
 * a credential-stuffing flood of wrong-password logins for many accounts from many client
 * addresses (X-Forwarded-For behind TRUST_PROXY=127.0.0.1) while one legitimate user, on a known
 * device, logs in every 250 ms. Three servers in one go: the protections at their defaults, the
 * same without load shedding, and none (every RATE_LIMIT_* very high, HASH_QUEUE large, no load
 * shedding). Reports the legitimate user's
 * success rate and latency, the flood's status mix and the server's CPU, prints a table and
 * writes it into bench/README.md (its own section only).
 *
 * `npm run bench:flood -- --postgres --instances 2` (issue 20): the same three scenarios on
 * PostgreSQL + Redis with N Bastion children behind a loopback round-robin TCP proxy
 * (bench/servers/round-robin-proxy.ts) that both the flood and the legitimate user go through.
 * Each scenario gets a fresh database on DATABASE_URL's server (dropped afterwards, even on
 * failure), its own Redis key prefix on REDIS_URL (its keys deleted afterwards; nothing else in
 * Redis is touched), one KEY_ENCRYPTION_KEY shared by the instances and a DATA_DIR per instance
 * (dev outboxes: the verification mail may be sent by either). Its table goes into a section of
 * its own in bench/README.md.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { simpleParser } from 'mailparser';
import { cpuTimeUs } from './lib/cpu-time.js';
import {
  type FloodOptions,
  type FloodResult,
  RESULT_PREFIX,
  STARTED_LINE,
} from './lib/flood-protocol.js';
import { createDatabase, dropDatabase } from './lib/pg-database.js';
import { type ServerHandle, startServer } from './lib/server.js';
import { fmt, pct } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.BENCH_FLOOD_SECONDS ?? '15' },
    connections: { type: 'string', default: '50' },
    baseline: { type: 'string', default: '3' },
    'no-readme': { type: 'boolean', default: false },
    postgres: { type: 'boolean', default: false },
    instances: { type: 'string', default: '1' },
    'database-url': {
      type: 'string',
      default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
    'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    /** Per instance; with --postgres the default is this machine's CPUs shared by the instances. */
    'hash-concurrency': { type: 'string' },
  },
});
const POSTGRES = args.postgres;
const INSTANCES = Number(args.instances);
if (!Number.isInteger(INSTANCES) || INSTANCES < 1)
  throw new Error('--instances: a whole number >= 1');
if (INSTANCES > 1 && !POSTGRES)
  throw new Error('--instances > 1 needs --postgres (PGlite is one process)');
const ADMIN_URL = args['database-url'];
const REDIS_URL = args['redis-url'];
/**
 * Bastion's own default (one hash per CPU of the machine) assumes one instance per machine: N
 * instances on this one would run N times as many hashes as there are CPUs. So --postgres gives
 * each instance its share unless told otherwise; the embedded default sets nothing.
 */
const HASH_CONCURRENCY =
  args['hash-concurrency'] ??
  (POSTGRES ? String(Math.max(1, Math.floor(availableParallelism() / INSTANCES))) : undefined);
const RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const FLOOD_SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const BASELINE_SECONDS = Number(args.baseline);
const LEGIT_INTERVAL_MS = 250;
const LEGIT_IP = '192.0.2.10';
const LEGIT_PASSWORD = 'quiet-harbor-lamps-glow-at-7-dusk';
const FLOOD_ACCOUNTS = 5000;
const FLOOD_ADDRESSES = 250;
const VICTIM_SHARE = 0.1;
const TARGET_P99_MS = 250;

const here = (path: string) => new URL(path, import.meta.url).pathname;

const BASE_ENV: Record<string, string> = {
  NODE_ENV: 'development',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  // The flood's many clients are named by X-Forwarded-For from a "proxy" on loopback.
  TRUST_PROXY: '127.0.0.1',
};

const HIGH = '10000000';
const UNPROTECTED_ENV: Record<string, string> = {
  RATE_LIMIT_GLOBAL_PER_MINUTE: HIGH,
  RATE_LIMIT_LOGIN_IP_FAILURES: HIGH,
  RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES: '1000',
  RATE_LIMIT_LOGIN_ACCOUNT_MAX_BACKOFF_SECONDS: '1',
  RATE_LIMIT_REGISTER_PER_HOUR: HIGH,
  RATE_LIMIT_FORGOT_PER_HOUR: HIGH,
  RATE_LIMIT_TOKEN_PER_HOUR: HIGH,
  RATE_LIMIT_REFRESH_PER_MINUTE: HIGH,
  HASH_QUEUE: '10000',
  // Load shedding off too (0 = off).
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
  LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0',
};

interface Scenario {
  readonly name: string;
  readonly env: Record<string, string>;
}

const SCENARIOS: Scenario[] = [
  { name: 'with protections (defaults)', env: {} },
  // Which protection does what: the same, without @fastify/under-pressure.
  {
    name: 'defaults, load shedding off',
    env: { LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0' },
  },
  { name: 'without (limits and load shedding off, HASH_QUEUE=10000)', env: UNPROTECTED_ENV },
];

interface LegitStats {
  attempts: number;
  ok: number;
  /** Latencies of the successful logins, ms. */
  latencies: number[];
  /** Failed attempts by status (or error name). */
  failures: Record<string, number>;
}

interface Outcome {
  readonly scenario: Scenario;
  readonly loadStart: string | undefined;
  readonly loadEnd: string | undefined;
  readonly baseline: LegitStats;
  readonly legit: LegitStats;
  readonly flood: FloodResult;
  /** Server CPU during the flood (summed over the instances), in % of one core. */
  readonly cpuPercent: number | undefined;
  /** The round-robin proxy's CPU during the flood, % of one core (--postgres only). */
  readonly proxyCpuPercent: number | undefined;
}

const load = () => loadavg()[0]?.toFixed(2);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function post(origin: string, path: string, body: unknown, headers = {}) {
  return fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': LEGIT_IP, ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

/**
 * The verification token from the dev outbox (DATA_DIR/outbox/*.eml) of any of the instances:
 * whichever outbox worker picks the mail up writes it into its own DATA_DIR.
 */
async function verificationToken(dataDirs: readonly string[], email: string): Promise<string> {
  const outboxes = dataDirs.map((dir) => join(dir, 'outbox'));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    for (const outbox of outboxes) {
      for (const file of existsSync(outbox) ? readdirSync(outbox) : []) {
        const mail = await simpleParser(readFileSync(join(outbox, file)));
        const to = mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined;
        const link = /https?:\/\/\S+\/verify-email\?token=([^\s"'<>]+)/.exec(mail.text ?? '');
        if (to === email && link?.[1]) return decodeURIComponent(link[1]);
      }
    }
    await sleep(100);
  }
  throw new Error(`no verification mail for ${email} in ${outboxes.join(', ')}`);
}

/**
 * Waits until readiness answers 200. It is not exempt from load shedding, so right after boot
 * (a busy event-loop sample) it says 503 for a moment, as every other route would.
 */
async function waitReady(origin: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${origin}/health/ready`).catch(() => undefined);
    await res?.arrayBuffer();
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`not ready: ${res?.status}`);
    await sleep(250);
  }
}

/** Registers, verifies (through the outbox) and logs in once: returns the device cookie. */
async function legitimateUser(origin: string, dataDirs: readonly string[], email: string) {
  await waitReady(origin);
  const registered = await post(origin, '/auth/register', {
    email,
    password: LEGIT_PASSWORD,
    displayName: 'Legit User',
  });
  if (registered.status !== 202) throw new Error(`register: ${registered.status}`);
  const token = await verificationToken(dataDirs, email);
  const verified = await post(origin, '/auth/verify-email', {
    token,
    password: LEGIT_PASSWORD,
  });
  if (verified.status !== 200) throw new Error(`verify: ${verified.status}`);
  const login = await post(origin, '/auth/login', { email, password: LEGIT_PASSWORD });
  if (login.status !== 200) throw new Error(`first login: ${login.status}`);
  const device = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0] ?? '')
    .find((c) => /^(__Host-)?bastion_device=./.test(c));
  if (!device) throw new Error('no device cookie');
  return device;
}

/** The legitimate user logging in every 250 ms (or right after a slower login) for `ms`. */
async function legitLoop(origin: string, email: string, cookie: string, ms: number) {
  const stats: LegitStats = { attempts: 0, ok: 0, latencies: [], failures: {} };
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const started = performance.now();
    let outcome: string;
    try {
      const res = await post(
        origin,
        '/auth/login',
        { email, password: LEGIT_PASSWORD },
        { cookie },
      );
      await res.arrayBuffer();
      outcome = String(res.status);
    } catch (err) {
      outcome = (err as Error).name;
    }
    const elapsed = performance.now() - started;
    stats.attempts++;
    if (outcome === '200') {
      stats.ok++;
      stats.latencies.push(elapsed);
    } else {
      stats.failures[outcome] = (stats.failures[outcome] ?? 0) + 1;
    }
    await sleep(Math.max(0, LEGIT_INTERVAL_MS - elapsed));
  }
  return stats;
}

/** Starts the flood client; `started` resolves once it is about to open its connections. */
function runFlood(options: FloodOptions): { started: Promise<void>; done: Promise<FloodResult> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', here('./lib/flood-client.ts'), JSON.stringify(options)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let result: FloodResult | undefined;
  let onStart: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    onStart = resolve;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === STARTED_LINE) onStart();
    if (line.startsWith(RESULT_PREFIX)) result = JSON.parse(line.slice(RESULT_PREFIX.length));
  });
  const done = new Promise<FloodResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      result ? resolve(result) : reject(new Error(`flood client exited ${code} without a result`)),
    );
  });
  // A client that dies before starting must not leave the caller waiting.
  void done.catch(() => {}).finally(onStart);
  return { started, done };
}

/** What a scenario's flood and legitimate user talk to: one Bastion, or N behind the proxy. */
interface Deployment {
  readonly origin: string;
  /** Every instance's DATA_DIR (their dev outboxes). */
  readonly dataDirs: readonly string[];
  /** The Bastion processes, for CPU. */
  readonly pids: readonly (number | undefined)[];
  readonly proxyPid: number | undefined;
  stop(): Promise<void>;
}

/** Today's default: one Bastion child on PGlite in a temp DATA_DIR, in-memory state. */
async function embedded(scenario: Scenario): Promise<Deployment> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-flood-'));
  const env = { ...BASE_ENV, ...scenario.env, DATA_DIR: dataDir };
  const server = await startServer(scenario.name, here('./servers/bastion-flood.ts'), {
    env: { BASTION_FLOOD_ENV: JSON.stringify(env) },
    timeoutMs: 120_000,
  }).catch((err: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  return {
    origin: server.origin,
    dataDirs: [dataDir],
    pids: [server.child.pid],
    proxyPid: undefined,
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Deletes this run's keys (SCAN by its own prefix): nothing else in Redis is touched. */
async function deleteRedisKeys(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/**
 * --postgres: a fresh database and a Redis key prefix of its own, N Bastion children on them
 * (one after another: the first migrates and creates the signing keys, the rest find them), the
 * round-robin proxy in front. Everything started is stopped and dropped again on failure.
 */
async function distributed(scenario: Scenario, index: number): Promise<Deployment> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => console.error(err));
  };
  try {
    const databaseUrl = await createDatabase('bastion_flood', ADMIN_URL);
    cleanups.push(() => dropDatabase(databaseUrl, ADMIN_URL));
    const redisPrefix = `bench-flood:${RUN_ID}:${index}:`;
    cleanups.push(() => deleteRedisKeys(redisPrefix));
    const keyEncryptionKey = randomBytes(32).toString('base64');
    const dataDirs: string[] = [];
    const servers: ServerHandle[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), `bastion-flood-${i}-`));
      dataDirs.push(dataDir);
      cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
      const env = {
        ...BASE_ENV,
        ...scenario.env,
        DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl,
        REDIS_URL,
        // One key for all instances: the device cookie, sessions and signing keys must verify on
        // each of them (in development each would otherwise generate its own into DATA_DIR).
        KEY_ENCRYPTION_KEY: keyEncryptionKey,
        ...(HASH_CONCURRENCY ? { HASH_CONCURRENCY } : {}),
      };
      const server = await startServer(
        `${scenario.name} #${i + 1}`,
        here('./servers/bastion-flood.ts'),
        {
          env: {
            BASTION_FLOOD_ENV: JSON.stringify(env),
            BASTION_FLOOD_REDIS_PREFIX: redisPrefix,
          },
          timeoutMs: 120_000,
        },
      );
      servers.push(server);
      cleanups.push(() => server.stop());
    }
    for (const server of servers) await waitReady(server.origin);
    const proxy = await startServer('round-robin proxy', here('./servers/round-robin-proxy.ts'), {
      env: { BENCH_PROXY_UPSTREAMS: servers.map((s) => s.port).join(',') },
      timeoutMs: 30_000,
    });
    cleanups.push(() => proxy.stop());
    return {
      origin: proxy.origin,
      dataDirs,
      pids: servers.map((s) => s.child.pid),
      proxyPid: proxy.child.pid,
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** CPU µs of all `pids` so far, or undefined when any is unknown. */
function totalCpuUs(pids: readonly (number | undefined)[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const us = cpuTimeUs(pid);
    if (us === undefined) return undefined;
    total += us;
  }
  return total;
}

const percentOfCore = (start: number | undefined, end: number | undefined, wallUs: number) =>
  start !== undefined && end !== undefined ? ((end - start) / wallUs) * 100 : undefined;

async function runScenario(scenario: Scenario, index: number): Promise<Outcome> {
  const loadStart = load();
  const deployment = POSTGRES ? await distributed(scenario, index) : await embedded(scenario);
  try {
    const { origin } = deployment;
    const email = `legit-${Date.now()}@bench.example`;
    const cookie = await legitimateUser(origin, deployment.dataDirs, email);
    const baseline = await legitLoop(origin, email, cookie, BASELINE_SECONDS * 1000);

    const flood = runFlood({
      origin,
      seconds: FLOOD_SECONDS,
      connections: CONNECTIONS,
      accounts: FLOOD_ACCOUNTS,
      addresses: FLOOD_ADDRESSES,
      victim: email,
      victimShare: VICTIM_SHARE,
    });
    await flood.started;
    const cpuStart = totalCpuUs(deployment.pids);
    const proxyCpuStart = cpuTimeUs(deployment.proxyPid);
    const wallStart = performance.now();
    // Let the flood's connections open before measuring the user against it.
    await sleep(500);
    const legit = await legitLoop(origin, email, cookie, (FLOOD_SECONDS - 1) * 1000);
    const floodResult = await flood.done;
    const cpuEnd = totalCpuUs(deployment.pids);
    const proxyCpuEnd = cpuTimeUs(deployment.proxyPid);
    const wallUs = (performance.now() - wallStart) * 1000;
    return {
      scenario,
      loadStart,
      loadEnd: load(),
      baseline,
      legit,
      flood: floodResult,
      cpuPercent: percentOfCore(cpuStart, cpuEnd, wallUs),
      proxyCpuPercent: percentOfCore(proxyCpuStart, proxyCpuEnd, wallUs),
    };
  } finally {
    await deployment.stop();
  }
}

const ms = (n: number) => (Number.isNaN(n) ? '-' : `${Math.round(n)} ms`);

function table(outcomes: readonly Outcome[]): string {
  const head = [
    'run',
    'legit ok',
    'legit p50',
    'legit p99',
    'legit alone p50 / p99',
    'flood req/s',
    'flood 401 / 429 / 503 / other',
    'server CPU',
  ];
  const rows = outcomes.map((o) => {
    const s = o.flood.statuses;
    const known = (s['401'] ?? 0) + (s['429'] ?? 0) + (s['503'] ?? 0);
    const other = o.flood.requests - known + o.flood.socketErrors;
    const fails = Object.entries(o.legit.failures)
      .map(([k, v]) => `${v}x${k}`)
      .join(' ');
    return [
      o.scenario.name,
      `${o.legit.ok}/${o.legit.attempts} (${pct(o.legit.ok / Math.max(1, o.legit.attempts))})${fails ? ` ${fails}` : ''}`,
      ms(percentile(o.legit.latencies, 50)),
      ms(percentile(o.legit.latencies, 99)),
      `${ms(percentile(o.baseline.latencies, 50))} / ${ms(percentile(o.baseline.latencies, 99))}`,
      fmt(o.flood.requests / o.flood.seconds),
      `${fmt(s['401'] ?? 0)} / ${fmt(s['429'] ?? 0)} / ${fmt(s['503'] ?? 0)} / ${fmt(other)}`,
      o.cpuPercent === undefined ? '-' : `${Math.round(o.cpuPercent)}%`,
    ];
  });
  const lines = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
  return lines.join('\n');
}

const SECTION = POSTGRES
  ? `## The flood on PostgreSQL + Redis, ${INSTANCES === 2 ? 'two instances' : `${INSTANCES} instance${INSTANCES === 1 ? '' : 's'}`} (issue 20)`
  : '## Credential-stuffing flood (`npm run bench:flood`)';

const EMBEDDED_NOTES = `CPU is the server process (all threads) in % of one core during the flood.

Reading the rows:
- The flood is closed-loop: each of its connections sends its next guess as soon as the last one
  is answered. A refused guess (429 before any work, or 503 \`overloaded\`) is answered within
  milliseconds, so refusals come back at a high rate and keep the event loop busy.
- Since issue 5's fix (commits 61c224c and c429281), load shedding lets through a login whose
  device cookie is valid for the account in its body (an HMAC with the server's device key,
  checked before any limiter, database or hashing work); everything else is still shed. The
  first row's legitimate user is no longer refused (before: 4/55, 51 x 503). A login refused by
  a limiter or by a full hash pool never looks its account up (the pool's room is checked before
  the look-up), and a 503 gives back the budget it was counted against.
- Legitimate latency under the flood is time waiting for the event loop: every step of the
  login (the throttle's counters, the user look-up in PGlite, which runs on the event loop, the
  hash handed to the pool, the session insert) queues behind the flood's requests, each of which
  still costs HTTP parsing, a problem+json answer and a log line even when it is shed at once.
- The last row still hashes on the bounded pool (at most one hash per core, device cookies ahead
  of the queue), which no setting turns off; only the queue is unbounded. Its flood is slow only
  because its connections wait in that queue; an open-loop attacker would grow it without bound.`;

const POSTGRES_NOTES = `\`npm run bench:flood -- --postgres --instances ${INSTANCES}\`. Server CPU is the sum over the
Bastion processes (all threads) in % of one core during the flood; PostgreSQL, Redis and the
proxy are not in it (the proxy's is printed per scenario on the console). Each scenario runs on a
fresh database and its own Redis key prefix (Bastion has no prefix setting: the bench's server
entry passes one to \`createRedisState\`), so no counter or account carries over. The proxy hands
out connections, not requests: the flood's ${CONNECTIONS} keep-alive connections are split evenly
across the instances, and the legitimate user's one keep-alive connection stays on one of them.

Bastion's default HASH_CONCURRENCY is the machine's CPU count per process, which assumes one
instance per machine; here the instances share one machine, so each gets its share
(\`--hash-concurrency\` overrides it). A first run with the default (2 hashes per instance, 4 on 2
CPUs; 2026-12-06 06:07 UTC, load average 4.1 at the start, 7.7 at the end, other sessions busy)
gave with protections 44/44 but p50 276 ms and p99 592 ms, the flood 25 requests/s, all 401.
Note that the protections' visible effect in the embedded run, 503 from a full hash pool, needs
more waiting logins than one instance's pool holds (HASH_CONCURRENCY + HASH_QUEUE=32): one
instance with 50 connections overflows it, two with 25 each do not, so here every guess is
admitted and waits its turn for a hash.`;

const NOTES = POSTGRES ? POSTGRES_NOTES : EMBEDDED_NOTES;

/** Replaces this benchmark's section of bench/README.md (or appends it); nothing else. */
function writeReadme(body: string): void {
  const path = here('./README.md');
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const start = current.indexOf(SECTION);
  const section = `${SECTION}\n\n${body.trim()}\n`;
  let next: string;
  if (start === -1) {
    next = `${current.trimEnd()}\n\n${section}`;
  } else {
    const after = current.indexOf('\n## ', start + SECTION.length);
    next =
      current.slice(0, start) + section + (after === -1 ? '' : `\n${current.slice(after + 1)}`);
  }
  writeFileSync(path, next);
}

const startedAt = new Date();
const where = POSTGRES
  ? `PostgreSQL + Redis, ${INSTANCES} instance${INSTANCES === 1 ? '' : 's'}: ` +
    `${INSTANCES === 1 ? 'Bastion in its own process' : 'each Bastion in its own process'} on ` +
    `a fresh database per scenario (${new URL(ADMIN_URL).host}) and Redis (${new URL(REDIS_URL).host}, ` +
    `a key prefix per scenario), behind a loopback round-robin TCP proxy (own process, per ` +
    `connection) that the flood and the legitimate user both go through; NODE_ENV=development, ` +
    `one shared KEY_ENCRYPTION_KEY, a DATA_DIR each, HASH_CONCURRENCY=${HASH_CONCURRENCY ?? 'default'} ` +
    `per instance`
  : 'Bastion in its own process: NODE_ENV=development, PGlite in a temp DATA_DIR, in-memory state';
const setup =
  `${availableParallelism()} CPUs, load average ${load()} at start; Node ${process.version}. ` +
  `${where}, LOG_LEVEL=info to /dev/null, argon2id 19456 KiB / t=2 / p=1 (the defaults), ` +
  `TRUST_PROXY=127.0.0.1. Flood (autocannon, own process): ${CONNECTIONS} connections for ` +
  `${FLOOD_SECONDS} s of wrong-password logins, ${fmt(FLOOD_ACCOUNTS)} accounts ` +
  `(${pct(VICTIM_SHARE)} of guesses against the legitimate user) from ${FLOOD_ADDRESSES} ` +
  `X-Forwarded-For addresses. Legitimate user: its own address, a device cookie from an earlier ` +
  `login, one login every ${LEGIT_INTERVAL_MS} ms; "alone" is ${BASELINE_SECONDS} s before the flood.`;
console.log(setup);

const outcomes: Outcome[] = [];
for (const [index, scenario] of SCENARIOS.entries()) {
  console.log(`\n${scenario.name} ...`);
  const outcome = await runScenario(scenario, index);
  outcomes.push(outcome);
  const proxyCpu =
    outcome.proxyCpuPercent === undefined
      ? ''
      : `, proxy CPU ${Math.round(outcome.proxyCpuPercent)}%`;
  console.log(
    `  legit ${outcome.legit.ok}/${outcome.legit.attempts}, ` +
      `p99 ${ms(percentile(outcome.legit.latencies, 99))}, flood ${JSON.stringify(outcome.flood.statuses)}` +
      `${proxyCpu}, load average ${outcome.loadStart} -> ${outcome.loadEnd}`,
  );
}

const result = table(outcomes);
const protectedRun = outcomes[0] as Outcome;
const p99 = percentile(protectedRun.legit.latencies, 99);
const met = protectedRun.legit.ok === protectedRun.legit.attempts && p99 < TARGET_P99_MS;
const verdict =
  `Target with protections: 100% legitimate success and p99 < ${TARGET_P99_MS} ms: ` +
  `${met ? 'met' : 'NOT met'} (${pct(protectedRun.legit.ok / Math.max(1, protectedRun.legit.attempts))}, p99 ${ms(p99)}). ` +
  `Load average ${load()} at the end.`;
console.log(`\n${result}\n\n${verdict}`);

if (!args['no-readme']) {
  writeReadme(
    `Run ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC. ${setup}\n\n${result}\n\n${verdict}\n\n` +
      NOTES,
  );
}
