/**
 * `npm run bench:logins`: logins/s at the default argon2id cost (m=19456, t=2, p=1) next to raw
 * `@node-rs/argon2` verifies/s at the same cost and concurrency, interleaved in one run (issue 3:
 * a login should cost little more than its hash). Bastion runs in a child process on embedded
 * PGlite (or, with `--postgres`, a fresh PostgreSQL database from DATABASE_URL, dropped afterwards);
 * the user logs in with its device cookie (the common case: no new-device mail). Limits are raised
 * (all load is from one address) and said so. Beside the rates it prints CPU µs per login (the
 * server process, every thread) and per raw verify (this process while only the verifies run):
 * the figure that survives a busy machine. The machine's load average is printed per round.
 *
 * A third measure, interleaved with the other two, is the floor: bench/servers/bare-login.ts, the
 * least a login can do (Fastify, a Map or, with `--postgres`, one SELECT and one INSERT on the same
 * fresh database, the same argon2 verify, an EdDSA JWT and a refresh cookie; no limits, logging or
 * validation), logging in the same email and password, measured by the same autocannon function.
 * Printed beside Bastion/raw (the issue's target, >= 90%): bare-login/raw, what fraction of the raw
 * hash even a minimal login reaches on this machine, and Bastion/bare-login, Bastion's cost above it.
 * Each server's CPU per login is also split by thread (the argon2 pool, the event loop, the embedded
 * database's thread, V8's helpers), which says where a login's cost beyond its hash goes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as argon2 from '@node-rs/argon2';
import autocannon from 'autocannon';
import { simpleParser } from 'mailparser';
import { cpuTimeUs, threadCpuDelta, threadCpuUs } from './lib/cpu-time.js';
import { createDatabase, dropDatabase } from './lib/pg-database.js';
import { type ServerHandle, startAll, startServer } from './lib/server.js';
import { median, pct } from './lib/stats.js';

const ROUNDS = 3;
const SECONDS = 8;
const CONNECTIONS = 4;
const PASSWORD = 'velvet-otter-drifts-past-9-lanterns';
// `npm run bench:logins -- [memoryKiB] [iterations] [--postgres]`: another argon2id cost on both
// sides; --postgres runs Bastion on PostgreSQL instead of the embedded default.
const POSITIONAL = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const ON_POSTGRES = process.argv.includes('--postgres');
const ARGON2 = {
  algorithm: 2,
  memoryCost: Number(POSITIONAL[0] ?? 19456),
  timeCost: Number(POSITIONAL[1] ?? 2),
  parallelism: 1,
};
const dbUrl = ON_POSTGRES ? await createDatabase('bastion_bench_logins') : undefined;

const dataDir = mkdtempSync(join(tmpdir(), 'bastion-logins-'));
process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
const env = {
  NODE_ENV: 'development',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  DATA_DIR: dataDir,
  RATE_LIMIT_GLOBAL_PER_MINUTE: '10000000',
  RATE_LIMIT_LOGIN_IP_FAILURES: '10000000',
  HASH_QUEUE: '1000',
  ARGON2_MEMORY_KIB: String(ARGON2.memoryCost),
  ARGON2_ITERATIONS: String(ARGON2.timeCost),
  ...(dbUrl ? { DATABASE_URL: dbUrl } : {}),
};
// One user for both servers: Bastion registers it in prepare(), bare-login hashes it at start.
const EMAIL = `bench-${randomBytes(4).toString('hex')}@example.test`;
const [server, bare] = (await startAll([
  startServer('bastion', new URL('./servers/bastion-flood.ts', import.meta.url).pathname, {
    env: { BASTION_FLOOD_ENV: JSON.stringify(env) },
  }),
  startServer('bare-login', new URL('./servers/bare-login.ts', import.meta.url).pathname, {
    env: {
      BENCH_LOGIN_EMAIL: EMAIL,
      BENCH_LOGIN_PASSWORD: PASSWORD,
      BENCH_ARGON2: JSON.stringify(ARGON2),
      // Empty (not inherited) without --postgres: bare-login then keeps its user and sessions in Maps.
      BENCH_DATABASE_URL: dbUrl ?? '',
    },
  }),
])) as [ServerHandle, ServerHandle];

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  origin = server.origin,
) {
  return fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function verificationToken(): Promise<string> {
  const outbox = join(dataDir, 'outbox');
  for (let i = 0; i < 150; i++) {
    for (const file of existsSync(outbox) ? readdirSync(outbox) : []) {
      const mail = await simpleParser(readFileSync(join(outbox, file)));
      const link = /\/verify-email\?token=([^\s"'<>]+)/.exec(mail.text ?? '');
      if (link?.[1]) return decodeURIComponent(link[1]);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no verification mail');
}

async function prepare(): Promise<[string, string]> {
  for (let i = 0; i < 240; i++) {
    const ready = await fetch(`${server.origin}/health/ready`).catch(() => undefined);
    if (ready?.status === 200) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const email = EMAIL;
  const reg = await post('/auth/register', { email, password: PASSWORD, displayName: 'Bench' });
  if (reg.status !== 202) throw new Error(`register ${reg.status}`);
  const verified = await post('/auth/verify-email', {
    token: await verificationToken(),
    password: PASSWORD,
  });
  if (verified.status !== 200) throw new Error(`verify ${verified.status}`);
  const first = await post('/auth/login', { email, password: PASSWORD });
  if (first.status !== 200) throw new Error(`login ${first.status}`);
  const device = first.headers
    .getSetCookie()
    .map((c) => c.split(';')[0] ?? '')
    .find((c) => c.includes('bastion_device='));
  if (!device) throw new Error('no device cookie');
  // The floor answers the same login (and refuses a wrong password) before anything is measured.
  const bareFirst = await post('/auth/login', { email, password: PASSWORD }, {}, bare.origin);
  const bareBody = (await bareFirst.json()) as { accessToken?: unknown };
  if (bareFirst.status !== 200 || typeof bareBody.accessToken !== 'string') {
    throw new Error(`bare-login ${bareFirst.status}`);
  }
  if (!bareFirst.headers.getSetCookie().some((c) => c.startsWith('refresh='))) {
    throw new Error('bare-login: no refresh cookie');
  }
  const bareWrong = await post('/auth/login', { email, password: 'wrong' }, {}, bare.origin);
  if (bareWrong.status !== 401) throw new Error(`bare-login wrong password ${bareWrong.status}`);
  return [JSON.stringify({ email, password: PASSWORD }), device];
}

/**
 * Logins/s and the server process's CPU µs per login over one run against `target`, with the
 * same CPU split by kind of thread.
 */
async function logins(
  target: ServerHandle,
  body: string,
  headers: Record<string, string> = {},
): Promise<[number, number, Map<string, number>]> {
  const cpu0 = cpuTimeUs(target.child.pid) ?? 0;
  const threads0 = threadCpuUs(target.child.pid);
  const result = await autocannon({
    url: `${target.origin}/auth/login`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  const non2xx = result.non2xx;
  if (non2xx > 0) console.warn(`  ! ${target.name}: ${non2xx} non-2xx login responses`);
  const cpu = (cpuTimeUs(target.child.pid) ?? 0) - cpu0;
  const ok = Math.max(1, result['2xx']);
  const threads = threadCpuDelta(threads0, threadCpuUs(target.child.pid), ok);
  return [result['2xx'] / SECONDS, cpu / ok, threads];
}

/** "argon2 (libuv-worker) 14,120, event loop (MainThread) 2,210, ...": µs per login by thread. */
function byThread(threads: Map<string, number>): string {
  const label: Record<string, string> = {
    'libuv-worker': 'argon2 pool (libuv-worker)',
    MainThread: 'event loop (MainThread)',
    WorkerThread: 'embedded database (WorkerThread)',
    V8Worker: 'V8 helpers (V8Worker)',
  };
  return [...threads]
    .filter(([, us]) => us >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${label[name] ?? name} ${Math.round(us).toLocaleString('en-US')}`)
    .join(', ');
}

/** Raw verifies at the same cost and concurrency, in this process (off its event loop). */
async function rawVerifies(): Promise<[number, number]> {
  const hash = await argon2.hash(PASSWORD, ARGON2);
  let count = 0;
  const cpu0 = process.cpuUsage();
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) {
        if (await argon2.verify(hash, PASSWORD)) count++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return [count / SECONDS, (cpu.user + cpu.system) / Math.max(1, count)];
}

try {
  const [body, cookie] = await prepare();
  console.log(
    `logins/s vs raw argon2id verifies/s (m=${ARGON2.memoryCost} KiB, t=${ARGON2.timeCost}, p=1), ` +
      `${CONNECTIONS} concurrent, ` +
      `${ROUNDS} interleaved rounds of ${SECONDS} s; Bastion: ${ON_POSTGRES ? 'PostgreSQL' : 'embedded PGlite'}, device cookie, ` +
      'RATE_LIMIT_GLOBAL_PER_MINUTE and RATE_LIMIT_LOGIN_IP_FAILURES raised (one client address); ' +
      `bare-login: ${ON_POSTGRES ? 'the same PostgreSQL database' : 'in-memory Maps'}, no limits or logging`,
  );
  const l: number[] = [];
  const b: number[] = [];
  const v: number[] = [];
  const lCpu: number[] = [];
  const bCpu: number[] = [];
  const vCpu: number[] = [];
  const lv: number[] = [];
  const bv: number[] = [];
  const lb: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const [login, loginCpu, loginThreads] = await logins(server, body, { cookie });
    const [bareLogin, bareCpu, bareThreads] = await logins(bare, body);
    const [raw, rawCpu] = await rawVerifies();
    l.push(login);
    b.push(bareLogin);
    v.push(raw);
    lCpu.push(loginCpu);
    bCpu.push(bareCpu);
    vCpu.push(rawCpu);
    lv.push(login / raw);
    bv.push(bareLogin / raw);
    lb.push(login / bareLogin);
    console.log(
      `  round ${round}: Bastion ${login.toFixed(1)}/s (${Math.round(loginCpu)} µs CPU each)   ` +
        `bare-login ${bareLogin.toFixed(1)}/s (${Math.round(bareCpu)} µs CPU each)   ` +
        `raw verifies ${raw.toFixed(1)}/s (${Math.round(rawCpu)} µs CPU each)   ` +
        `Bastion/raw ${pct(login / raw)}, bare-login/raw ${pct(bareLogin / raw)}, ` +
        `Bastion/bare-login ${pct(login / bareLogin)}   load average ${loadavg()[0]?.toFixed(2)}`,
    );
    console.log(`    Bastion, CPU µs per login by thread: ${byThread(loginThreads)}`);
    console.log(`    bare-login, CPU µs per login by thread: ${byThread(bareThreads)}`);
  }
  console.log(
    `  median: Bastion ${median(l).toFixed(1)}/s (${Math.round(median(lCpu))} µs CPU each), ` +
      `bare-login ${median(b).toFixed(1)}/s (${Math.round(median(bCpu))} µs CPU each), ` +
      `raw verifies ${median(v).toFixed(1)}/s (${Math.round(median(vCpu))} µs CPU each); ` +
      `Bastion/raw ${pct(median(lv))} (target >= 90%), bare-login/raw ${pct(median(bv))}, ` +
      `Bastion/bare-login ${pct(median(lb))}`,
  );
} finally {
  await Promise.all([server.stop(), bare.stop()]);
  if (dbUrl) await dropDatabase(dbUrl);
}
