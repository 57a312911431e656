/**
 * `npm run bench [-- options]`: each scenario against bare Fastify, both servers in their own
 * child process, rounds interleaved A B A B..., medians and the median per-round ratio.
 *   --rounds 5 --seconds 5 --warmup 1 --connections 50 --scenario <name> (repeatable) --all
 *   --tool wrk|autocannon   --no-pin (no taskset)   --profile (CPU profile of one run each)
 *   --profile-dir <dir> (keep the .cpuprofile files)
 *   --bastion-node-option <flag> (repeatable: node flags for the Bastion side; default: the ones
 *   `npm start` runs with, bench/lib/production-entry.ts)
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { BENCH_GLOBAL_RATE_LIMIT } from './lib/bastion-env.js';
import { cpuTimeUs } from './lib/cpu-time.js';
import { pinSelf, placement } from './lib/cpus.js';
import { type LoadRequest, pickTool, runLoad, warmUp } from './lib/load.js';
import { createDatabase, dropDatabase } from './lib/pg-database.js';
import { PRODUCTION_NODE_FLAGS } from './lib/production-entry.js';
import { profileScenario } from './lib/profile-run.js';
import type { Scenario, ScenarioRequests } from './lib/scenario.js';
import { type ServerHandle, startAll, startServer } from './lib/server.js';
import { fmt, interleave, median, pct } from './lib/stats.js';
import { scenarios } from './scenarios.js';

const TARGET = 0.65;
/** Before round 1, each side serves this many requests (JIT, lazily built state) ... */
const FIRST_WARMUP_REQUESTS = 20_000;
/** ... or runs this long, whichever comes first. */
const FIRST_WARMUP_MAX_S = 20;
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    scenario: { type: 'string', multiple: true },
    all: { type: 'boolean', default: false },
    tool: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'profile-dir': { type: 'string' },
    'bastion-node-option': { type: 'string', multiple: true },
  },
});
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const tool = pickTool(args.tool ?? process.env.BENCH_TOOL);
const cpus = placement(!args['no-pin']);
if (tool === 'autocannon') pinSelf(cpus.load);
const selected = args.scenario
  ? scenarios.filter((s) => args.scenario?.includes(s.name))
  : scenarios.filter((s) => args.all || !s.optional);
if (selected.length === 0) throw new Error(`no scenario named ${args.scenario?.join(', ')}`);

/** Other work on the machine skews absolute numbers; the load average says how much. */
const load1 = () => `load average ${loadavg()[0]?.toFixed(2)}`;
const entry = (file: string) => new URL(`./servers/${file}`, import.meta.url).pathname;

console.log(
  `load: ${tool}${tool === 'wrk' ? ' (-t1)' : ''}, ${connections} connections, ` +
    `first warm-up ${fmt(FIRST_WARMUP_REQUESTS)} requests (at most ${FIRST_WARMUP_MAX_S} s), ` +
    `then ${rounds} rounds x (${warmup} s warm-up + ${seconds} s) per side, ` +
    '127.0.0.1\n' +
    `cpus: ${cpus.server ? `server on CPU ${cpus.server}, load on CPU ${cpus.load}` : 'not pinned'}; ${load1()}\n` +
    `bastion: NODE_ENV=development LOG_LEVEL=info (to /dev/null), PGlite in a temp DATA_DIR, ` +
    `RATE_LIMIT_GLOBAL_PER_MINUTE=${BENCH_GLOBAL_RATE_LIMIT} (raised: all load is from one address), ` +
    'LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION=1 (a saturating run must not be shed), ' +
    `node flags ${(args['bastion-node-option'] ?? PRODUCTION_NODE_FLAGS).join(' ')}`,
);

async function check(server: ServerHandle, path: string, req: LoadRequest | undefined, want = 200) {
  const res = await fetch(`${server.origin}${path}`, {
    method: req?.method ?? 'GET',
    headers: req?.headers,
    body: req?.body,
  });
  if (res.status !== want) {
    throw new Error(`${server.name} ${path}: status ${res.status}, expected ${want}`);
  }
}

interface Run {
  readonly rps: number;
  /** Server CPU µs per request (user + system), NaN without /proc. */
  readonly cpuUs: number;
  /** 99th percentile latency, ms (NaN when the load tool does not say). */
  readonly p99Ms: number;
}

async function load(
  server: ServerHandle,
  path: string,
  req: LoadRequest | undefined,
): Promise<Run> {
  const base = { url: `${server.origin}${path}`, tool, connections, cpus: cpus.load, request: req };
  if (warmup > 0) await runLoad({ ...base, seconds: warmup });
  const cpuBefore = cpuTimeUs(server.child.pid);
  const result = await runLoad({ ...base, seconds });
  const cpuAfter = cpuTimeUs(server.child.pid);
  if (result.errorResponses > 0 || result.socketErrors > 0) {
    console.warn(
      `  ! ${server.name}: ${result.errorResponses} error responses, ${result.socketErrors} socket errors`,
    );
  }
  const cpuUs =
    cpuBefore === undefined || cpuAfter === undefined
      ? Number.NaN
      : (cpuAfter - cpuBefore) / result.requests;
  return { rps: result.requestsPerSec, cpuUs, p99Ms: result.p99Ms ?? Number.NaN };
}

const side = (r: Run) =>
  `${fmt(r.rps).padStart(7)} req/s ${r.cpuUs.toFixed(1).padStart(6)} µs p99 ${r.p99Ms.toFixed(0).padStart(4)} ms`;

async function measure(scenario: Scenario, bare: ServerHandle, bastion: ServerHandle) {
  const reqs: ScenarioRequests =
    (await scenario.setup?.({
      bare,
      bastion,
      start: (name, file, env) => start(name, file, [], env),
    })) ?? {};
  try {
    await measureSides(scenario, reqs, bare, reqs.server ?? bastion);
  } finally {
    await reqs.server?.stop();
  }
}

async function measureSides(
  scenario: Scenario,
  reqs: ScenarioRequests,
  bare: ServerHandle,
  bastion: ServerHandle,
) {
  const barePath = reqs.barePath ?? scenario.barePath;
  const bastionPath = reqs.bastionPath ?? scenario.bastionPath;
  const target = scenario.target === undefined ? TARGET : scenario.target;
  // A rotation is checked with its first value.
  const first = (r: LoadRequest | undefined): LoadRequest | undefined =>
    r?.rotate
      ? { ...r, headers: { ...r.headers, [r.rotate.header]: r.rotate.values[0] as string } }
      : r;
  await check(bare, barePath, first(reqs.bare));
  await check(bastion, bastionPath, first(reqs.bastion), scenario.expectStatus);
  console.log(`\n== ${scenario.name}: ${scenario.description}`);
  console.log(
    `   A = bare Fastify ${barePath}, B = ${reqs.server ? reqs.server.name : 'Bastion'} ${bastionPath}; ` +
      'µs = server CPU time per request',
  );
  for (const [server, path, request] of [
    [bare, barePath, reqs.bare],
    [bastion, bastionPath, reqs.bastion],
  ] as const) {
    const url = `${server.origin}${path}`;
    await warmUp(
      { url, tool, connections, cpus: cpus.load, request },
      FIRST_WARMUP_REQUESTS,
      FIRST_WARMUP_MAX_S,
    );
  }
  const runs: Record<'A' | 'B', Run[]> = { A: [], B: [] };
  for (const { round, variant } of interleave(rounds, ['A', 'B'] as const)) {
    runs[variant].push(
      variant === 'A'
        ? await load(bare, barePath, reqs.bare)
        : await load(bastion, bastionPath, reqs.bastion),
    );
    if (variant === 'B') {
      const [a, b] = [runs.A[round - 1] as Run, runs.B[round - 1] as Run];
      console.log(
        `   round ${round}:  A ${side(a)}   B ${side(b)}   B/A ${pct(b.rps / a.rps)}   ` +
          `CPU A/B ${pct(a.cpuUs / b.cpuUs)}`,
      );
    }
  }
  const med = (v: 'A' | 'B'): Run => ({
    rps: median(runs[v].map((r) => r.rps)),
    cpuUs: median(runs[v].map((r) => r.cpuUs)),
    p99Ms: median(runs[v].map((r) => r.p99Ms)),
  });
  const ratio = median(runs.B.map((b, i) => b.rps / (runs.A[i] as Run).rps));
  const cpuRatio = median(runs.B.map((b, i) => (runs.A[i] as Run).cpuUs / b.cpuUs));
  // Issue 20 asks some targets "in every one of five runs": say how many rounds met it too.
  const roundsMet =
    target === null ? 0 : runs.B.filter((b, i) => b.rps / (runs.A[i] as Run).rps >= target).length;
  console.log(
    `   median:   A ${side(med('A'))}   B ${side(med('B'))}   B/A ${pct(ratio)}   CPU A/B ${pct(cpuRatio)}\n` +
      `   => ${reqs.server ? reqs.server.name : 'Bastion'} at ${pct(ratio)} of bare Fastify's requests/s (median of per-round ratios); ` +
      (target === null
        ? `no target (${load1()})`
        : `target >= ${pct(target)}: ${ratio >= target ? 'met' : 'NOT met'} by the median, ` +
          `in ${roundsMet} of ${runs.B.length} rounds (${load1()})`),
  );
}

const start = (name: string, file: string, nodeArgs: string[] = [], env = {}) =>
  startServer(name, entry(file), { cpus: cpus.server, nodeArgs, env });

if (args.profile) {
  for (const scenario of selected) {
    await profileScenario(scenario, {
      start,
      tool,
      seconds,
      connections,
      cpus: cpus.load,
      keepDir: args['profile-dir'],
    });
  }
} else {
  for (const database of ['pglite', 'postgres'] as const) {
    const group = selected.filter((s) => (s.database ?? 'pglite') === database);
    if (group.length > 0) await measureGroup(group, database);
  }
}

/** Both servers for a group of scenarios, on PGlite or on a fresh PostgreSQL database. */
async function measureGroup(group: readonly Scenario[], database: 'pglite' | 'postgres') {
  const pgDb = database === 'postgres' ? await createPostgresDatabase() : undefined;
  try {
    const env: Record<string, string> = pgDb ? { BENCH_DATABASE_URL: pgDb.url } : {};
    if (pgDb) console.log(`\npostgres: fresh database ${pgDb.name} (dropped afterwards)`);
    const [bare, bastion] = (await startAll([
      start('bare', 'bare.ts', [], env),
      start(
        'bastion',
        'bastion.ts',
        args['bastion-node-option'] ?? [...PRODUCTION_NODE_FLAGS],
        env,
      ),
    ])) as [ServerHandle, ServerHandle];
    try {
      for (const scenario of group) await measure(scenario, bare, bastion);
    } finally {
      await Promise.all([bare.stop(), bastion.stop()]);
    }
  } finally {
    await pgDb?.drop();
  }
}

/** A fresh database on the server DATABASE_URL names (default: local, user postgres). */
async function createPostgresDatabase() {
  const url = await createDatabase('bastion_bench');
  return { name: new URL(url).pathname.slice(1), url, drop: () => dropDatabase(url) };
}
