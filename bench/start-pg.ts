/**
 * Cold starts of the compiled entry (`node dist/src/main.js`) on PostgreSQL (issue 17), with the
 * server's memory after start, after a minute of mixed load, and optionally over a soak.
 *
 * Each run creates a fresh database (from DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), starts the server on it with an empty DATA_DIR
 * (media and the dev mail outbox only), measures spawn to the first 200 from /health/ready and the
 * RSS then, registers and verifies one user through the mail outbox, logs it in, then runs
 * `--load-seconds` (default 60) of mixed load with autocannon: GET /health/live, GET /auth/me with
 * the bearer and POST /auth/login (device cookie) on separate connection groups, and reads the RSS
 * again. The database is dropped afterwards.
 *
 *   npm run build && npx tsx bench/start-pg.ts [--runs 5] [--load-seconds 60] [--redis]
 *       [--soak <minutes>] [--sample-seconds 30] [--argon2-memory-kib N] [--argon2-iterations N]
 *       [--env NAME=VALUE ...] [--node-option --flag ...]
 *
 * `--soak` adds one more run that keeps the same load for that many minutes, printing the RSS
 * (from /proc/<pid>/status) every `--sample-seconds`, and the least-squares slope of RSS in MB per minute over the samples after the first minute.
 * `--redis` sets REDIS_URL (default redis://127.0.0.1:6379, or $REDIS_URL). Loads are printed
 * before and after (the host is shared).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { simpleParser } from 'mailparser';
import { createDatabase, DEFAULT_ADMIN_URL, dropDatabase } from './lib/pg-database.js';
import { PRODUCTION_NODE_ARGS } from './lib/production-entry.js';

const ROOT = join(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'load-seconds': { type: 'string', default: '60' },
    soak: { type: 'string' },
    'sample-seconds': { type: 'string', default: '30' },
    redis: { type: 'boolean', default: false },
    'argon2-memory-kib': { type: 'string' },
    'argon2-iterations': { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
    'node-option': { type: 'string', multiple: true, default: [] },
  },
});
const RUNS = Number(opts.runs);
const LOAD_SECONDS = Number(opts['load-seconds']);
const SOAK_MINUTES = opts.soak ? Number(opts.soak) : 0;
const SAMPLE_SECONDS = Number(opts['sample-seconds']);
const BASE_URL = DEFAULT_ADMIN_URL;
const REDIS_URL = opts.redis ? (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined;
const PASSWORD = 'velvet-otter-drifts-past-9-lanterns';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/health/ready', agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
  });
}

function memMb(pid: number): { rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 1024) };
}

interface Server {
  pid: number;
  origin: string;
  readyMs: number;
  stop(): Promise<void>;
}

async function start(databaseUrl: string, dataDir: string): Promise<Server> {
  const began = performance.now();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'info',
    // All the load comes from one address, as in bench/logins.ts.
    RATE_LIMIT_GLOBAL_PER_MINUTE: '10000000',
    RATE_LIMIT_LOGIN_IP_FAILURES: '10000000',
    HASH_QUEUE: '1000',
    LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
    LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0',
  };
  if (REDIS_URL) env.REDIS_URL = REDIS_URL;
  if (opts['argon2-memory-kib']) env.ARGON2_MEMORY_KIB = opts['argon2-memory-kib'];
  if (opts['argon2-iterations']) env.ARGON2_ITERATIONS = opts['argon2-iterations'];
  for (const kv of opts.env ?? []) {
    const at = kv.indexOf('=');
    env[kv.slice(0, at)] = kv.slice(at + 1);
  }
  const nodeArgs = [...(opts['node-option'] ?? []), ...PRODUCTION_NODE_ARGS];
  const child = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let port: number | undefined;
  // Drain stdout for the whole run (log lines under load); keep only the head to find the port.
  child.stdout?.on('data', (c: Buffer) => {
    if (port === undefined && out.length < 1_000_000) out += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${out}`);
    const p = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    if (p && (await ready(Number(p)))) {
      port = Number(p);
      break;
    }
    await sleep(20);
  }
  return {
    pid: child.pid ?? 0,
    origin: `http://127.0.0.1:${port}`,
    readyMs: performance.now() - began,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function post(origin: string, path: string, body: unknown) {
  return fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function verificationToken(dataDir: string): Promise<string> {
  const outbox = join(dataDir, 'outbox');
  for (let i = 0; i < 300; i++) {
    for (const file of existsSync(outbox) ? readdirSync(outbox) : []) {
      const mail = await simpleParser(readFileSync(join(outbox, file)));
      const link = /\/verify-email\?token=([^\s"'<>]+)/.exec(mail.text ?? '');
      if (link?.[1]) return decodeURIComponent(link[1]);
    }
    await sleep(100);
  }
  throw new Error('no verification mail');
}

/** One verified user: its bearer, its login body and its device cookie. */
async function user(origin: string, dataDir: string) {
  const email = `bench-${randomBytes(4).toString('hex')}@example.test`;
  const reg = await post(origin, '/auth/register', { email, password: PASSWORD, displayName: 'B' });
  if (reg.status !== 202) throw new Error(`register ${reg.status}`);
  const token = await verificationToken(dataDir);
  const verified = await post(origin, '/auth/verify-email', { token, password: PASSWORD });
  if (verified.status !== 200) throw new Error(`verify ${verified.status}`);
  const login = await post(origin, '/auth/login', { email, password: PASSWORD });
  if (login.status !== 200) throw new Error(`login ${login.status}`);
  const device = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0] ?? '')
    .find((c) => c.includes('bastion_device='));
  const { accessToken } = (await login.json()) as { accessToken: string };
  return { accessToken, loginBody: JSON.stringify({ email, password: PASSWORD }), device };
}

type Totals = Record<string, { ok: number; other: number }>;

/** Mixed load for `seconds`: three autocannon instances side by side on separate connections. */
async function mixedLoad(origin: string, u: Awaited<ReturnType<typeof user>>, seconds: number) {
  const common = { duration: seconds };
  const runs = {
    'health-live': autocannon({
      ...common,
      url: `${origin}/health/live`,
      connections: 4,
    }),
    me: autocannon({
      ...common,
      url: `${origin}/auth/me`,
      connections: 4,
      headers: { authorization: `Bearer ${u.accessToken}` },
    }),
    login: autocannon({
      ...common,
      url: `${origin}/auth/login`,
      method: 'POST',
      connections: 2,
      headers: { 'content-type': 'application/json', ...(u.device ? { cookie: u.device } : {}) },
      body: u.loginBody,
    }),
  };
  const totals: Totals = {};
  for (const [name, p] of Object.entries(runs)) {
    const r = await p;
    totals[name] = { ok: r['2xx'], other: r.non2xx + r.errors + r.timeouts };
  }
  return totals;
}

const fmtTotals = (t: Totals, seconds: number) =>
  Object.entries(t)
    .map(
      ([k, v]) => `${k} ${(v.ok / seconds).toFixed(0)}/s${v.other ? ` (${v.other} not 2xx)` : ''}`,
    )
    .join(', ');

async function withDatabase<T>(fn: (url: string, dataDir: string) => Promise<T>): Promise<T> {
  const url = await createDatabase('bastion_start', BASE_URL);
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-bench-start-pg-'));
  try {
    return await fn(url, dataDir);
  } finally {
    await dropDatabase(url, BASE_URL).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0]?.toFixed(0)} / ${s[Math.floor(s.length / 2)]?.toFixed(0)} / ${s.at(-1)?.toFixed(0)}`;
};

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

console.log(
  `compiled entry on PostgreSQL${REDIS_URL ? ' + Redis' : ' (in-memory state)'}, ${RUNS} cold ` +
    `starts, ${LOAD_SECONDS} s mixed load each (health-live x4, /auth/me x4, login x2 ` +
    `connections); Node ${process.version}; load average at start ${load()}`,
);
const readyMs: number[] = [];
const rssReady: number[] = [];
const rssLoaded: number[] = [];
for (let i = 0; i < RUNS; i++) {
  await withDatabase(async (url, dataDir) => {
    const server = await start(url, dataDir);
    try {
      const r0 = memMb(server.pid).rss;
      const u = await user(server.origin, dataDir);
      const totals = await mixedLoad(server.origin, u, LOAD_SECONDS);
      const r1 = memMb(server.pid).rss;
      readyMs.push(server.readyMs);
      rssReady.push(r0);
      rssLoaded.push(r1);
      console.log(
        `  run ${i + 1}: ready ${server.readyMs.toFixed(0)} ms, RSS ${r0} MB; after ` +
          `${LOAD_SECONDS} s ${r1} MB (${fmtTotals(totals, LOAD_SECONDS)}); load ${load()}`,
      );
    } finally {
      await server.stop();
    }
  });
}
if (RUNS > 0) {
  console.log(
    '\n| measure | min / median / max |\n|---|---|\n' +
      `| ready, ms | ${stats(readyMs)} |\n` +
      `| RSS after ready, MB | ${stats(rssReady)} |\n` +
      `| RSS after ${LOAD_SECONDS} s of mixed load, MB | ${stats(rssLoaded)} |\n`,
  );
}

if (SOAK_MINUTES > 0) {
  await withDatabase(async (url, dataDir) => {
    const server = await start(url, dataDir);
    try {
      const u = await user(server.origin, dataDir);
      console.log(
        `soak: ${SOAK_MINUTES} min of the same mixed load, RSS every ${SAMPLE_SECONDS} s ` +
          `(ready ${server.readyMs.toFixed(0)} ms, RSS ${memMb(server.pid).rss} MB, load ${load()})`,
      );
      const xs: number[] = [];
      const ys: number[] = [];
      const began = performance.now();
      const end = began + SOAK_MINUTES * 60_000;
      while (performance.now() < end) {
        const seconds = Math.min(SAMPLE_SECONDS, Math.ceil((end - performance.now()) / 1000));
        // A fresh bearer each slice: the access token's lifetime is shorter than a long soak.
        const fresh = await fetch(`${server.origin}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie: u.device ?? '' },
          body: u.loginBody,
        });
        if (fresh.status === 200) u.accessToken = ((await fresh.json()) as typeof u).accessToken;
        const totals = await mixedLoad(server.origin, u, seconds);
        const minutes = (performance.now() - began) / 60_000;
        const rss = memMb(server.pid).rss;
        xs.push(minutes);
        ys.push(rss);
        console.log(
          `  ${minutes.toFixed(1)} min: RSS ${rss} MB (${fmtTotals(totals, seconds)}; load ${load()})`,
        );
      }
      const after = xs.map((x, i) => [x, ys[i] as number]).filter(([x]) => (x as number) > 1);
      const s = slope(
        after.map(([x]) => x as number),
        after.map(([, y]) => y as number),
      );
      console.log(
        `soak trend: ${s >= 0 ? '+' : ''}${s.toFixed(2)} MB/min over ${after.length} samples ` +
          `after the first minute (RSS ${Math.min(...ys)}-${Math.max(...ys)} MB)`,
      );
    } finally {
      await server.stop();
    }
  });
}
console.log(`load average at end ${load()}`);
