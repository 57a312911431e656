/**
 * `npm run bench:db-stall [-- --root <checkout> --seconds 5 --rounds 3]` (issue 20): does database
 * work on the embedded default stall everything else? Bastion (bench/servers/bastion.ts of
 * `--root`, default this checkout: embedded PGlite, in-memory state) is measured three ways, in
 * one run: `/health/live` alone (10 connections), `/auth/me` with a warm token (50 connections:
 * a user row read per request), and both at once, where `/health/live`'s p99 tells whether a
 * query blocks the event loop. `--root` lets an older checkout run beside this one (a before and
 * after in the same run). autocannon on 127.0.0.1; latencies in ms.
 *
 * `--me-rate N` / `--health-rate N` cap each load at N requests/s (autocannon's overallRate;
 * default: as fast as it goes). Uncapped, both loads saturate the server's CPU once the database
 * is no longer the bottleneck, and the probe's p99 then measures CPU sharing, not a stalled event
 * loop; capped (say 1000 and 500), it measures only the stall.
 *
 * `--probe-interval-ms N` replaces the `/health/live` load with a steady probe: one keep-alive
 * connection, one request every N ms, each latency taken from the moment the request was due (a
 * stalled server delays the requests queued behind it, and those count too: no coordinated
 * omission). autocannon's rate mode sends each second's requests in a burst, so its p99 alone is
 * several ms; the probe's is the server's own answer time, and what a stall adds shows plainly.
 * With `--me-rate` too, `/auth/me` is paced the same way (10 connections, each request due at
 * its time), so neither side arrives in bursts.
 *
 * `--postgres` measures each checkout on a fresh PostgreSQL database too (DATABASE_URL's server,
 * dropped afterwards): the control, since a route reading the database costs its share of the
 * server's thread whatever the database, and only what embedded adds beyond it is a stall.
 */
import http from 'node:http';
import os from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createDatabase, dropDatabase } from './lib/pg-database.js';
import { startServer } from './lib/server.js';

const { values } = parseArgs({
  options: {
    root: { type: 'string', multiple: true },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'me-rate': { type: 'string' },
    'health-rate': { type: 'string' },
    'probe-interval-ms': { type: 'string' },
    postgres: { type: 'boolean', default: false },
  },
});
const roots = (values.root ?? ['.']).map((r) => resolve(r));
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const meRate = values['me-rate'] ? Number(values['me-rate']) : undefined;
const healthRate = values['health-rate'] ? Number(values['health-rate']) : undefined;
const probeIntervalMs = values['probe-interval-ms']
  ? Number(values['probe-interval-ms'])
  : undefined;

interface Measure {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function load(
  url: string,
  connections: number,
  headers: Record<string, string> = {},
  overallRate?: number,
) {
  return new Promise<Measure>((done, fail) => {
    const rate = overallRate === undefined ? {} : { overallRate };
    autocannon({ url, connections, duration: seconds, headers, ...rate }, (err, r) => {
      if (err) return fail(err);
      done({
        rps: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        errors: r.non2xx + r.errors,
      });
    });
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

/**
 * `GET url` every `intervalMs` for `seconds` on each of `connections` keep-alive connections
 * (their starts spread over one interval); latency to the last byte from when each request was
 * due (or sent, if the timer fired early), in ms.
 */
async function paced(
  url: string,
  intervalMs: number,
  connections = 1,
  headers: Record<string, string> = {},
): Promise<Measure> {
  const latencies: number[] = [];
  let errors = 0;
  const began = performance.now();
  const end = began + seconds * 1000;
  const loop = async (offset: number) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let due = began + offset; due < end; due += intervalMs) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      // On time: from the send (a timer may fire a little early). Behind: from when it was due.
      const start = wait > 0 ? performance.now() : due;
      const ok = await new Promise<boolean>((done) => {
        http
          .get(url, { agent, headers }, (res) => {
            res.resume();
            res.on('end', () => done(res.statusCode === 200));
          })
          .on('error', () => done(false));
      });
      if (!ok) errors++;
      latencies.push(performance.now() - start);
    }
    agent.destroy();
  };
  await Promise.all(
    Array.from({ length: connections }, (_, i) => loop((intervalMs * i) / connections)),
  );
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
  };
}

/** Connections of the paced `/auth/me` load (`--probe-interval-ms` with `--me-rate`). */
const PACED_ME_CONNECTIONS = 10;

/** The `/auth/me` side: paced beside the probe when a rate is given, else autocannon. */
const meLoad = (origin: string, auth: Record<string, string>) =>
  probeIntervalMs !== undefined && meRate !== undefined
    ? paced(`${origin}/auth/me`, (PACED_ME_CONNECTIONS * 1000) / meRate, PACED_ME_CONNECTIONS, auth)
    : load(`${origin}/auth/me`, 50, auth, meRate);

/** The `/health/live` side: the steady probe when asked for, else an autocannon load. */
const health = (origin: string) =>
  probeIntervalMs === undefined
    ? load(`${origin}/health/live`, 10, {}, healthRate)
    : paced(`${origin}/health/live`, probeIntervalMs);

const loadavg = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

/** One access token from the bench route; a busy machine may shed the first tries (503). */
async function mintToken(origin: string): Promise<string[]> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const res = await fetch(`${origin}/bench/mint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 1 }),
    });
    if (res.status === 200) return ((await res.json()) as { tokens: string[] }).tokens;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error('/bench/mint: no token after 30 tries');
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

const probeSide =
  probeIntervalMs === undefined
    ? `/health/live ${healthRate ?? 'uncapped'} req/s`
    : `/health/live probed every ${probeIntervalMs} ms on one connection`;
const rates = `/auth/me ${meRate ?? 'uncapped'} req/s, ${probeSide}`;
console.log(
  `db-stall: ${rounds} rounds x ${seconds} s per measure; ${rates}; load average ${loadavg()}`,
);
const databases = values.postgres ? (['embedded', 'postgres'] as const) : (['embedded'] as const);
for (const root of roots) for (const database of databases) await measure(root, database);

async function measure(root: string, database: 'embedded' | 'postgres') {
  const pgUrl = database === 'postgres' ? await createDatabase('bastion_db_stall') : undefined;
  const server = await startServer('bastion', `${root}/bench/servers/bastion.ts`, {
    env: { NODE_ENV: 'development', ...(pgUrl ? { BENCH_DATABASE_URL: pgUrl } : {}) },
  });
  try {
    const tokens = await mintToken(server.origin);
    const auth = { authorization: `Bearer ${tokens[0]}` };
    await load(`${server.origin}/auth/me`, 50, auth); // warm-up
    const alone: Measure[] = [];
    const me: Measure[] = [];
    const beside: Measure[] = [];
    for (let i = 0; i < rounds; i++) {
      alone.push(await health(server.origin));
      const [m, h] = await Promise.all([meLoad(server.origin, auth), health(server.origin)]);
      me.push(m);
      beside.push(h);
    }
    const line = (name: string, ms: Measure[]) =>
      `  ${name.padEnd(38)} ${median(ms.map((m) => m.rps))
        .toFixed(0)
        .padStart(7)} req/s  p50 ${median(ms.map((m) => m.p50))
        .toFixed(2)
        .padStart(6)} ms  p99 ${median(ms.map((m) => m.p99))
        .toFixed(2)
        .padStart(7)} ms  errors ${ms.reduce((a, m) => a + m.errors, 0)}`;
    console.log(`\n${root}, ${database === 'embedded' ? 'embedded PGlite' : 'PostgreSQL'}`);
    const side = probeIntervalMs === undefined ? '(10 conns)' : '(probe)';
    console.log(line(`/health/live alone ${side}`, alone));
    const meSide = probeIntervalMs !== undefined && meRate !== undefined ? '(paced)' : '(50 conns)';
    console.log(line(`/auth/me ${meSide}, beside health`, me));
    console.log(line('/health/live beside /auth/me', beside));
    const ratio =
      median(beside.map((m) => m.p99)) / Math.max(median(alone.map((m) => m.p99)), 0.01);
    console.log(`  => /health/live p99 beside DB load / alone: ${ratio.toFixed(2)}x`);
  } finally {
    await server.stop();
    if (pgUrl) await dropDatabase(pgUrl);
  }
}
console.log(`\nload average at the end ${loadavg()}`);
