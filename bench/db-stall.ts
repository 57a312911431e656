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
 */
import os from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startServer } from './lib/server.js';

const { values } = parseArgs({
  options: {
    root: { type: 'string', multiple: true },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'me-rate': { type: 'string' },
    'health-rate': { type: 'string' },
  },
});
const roots = (values.root ?? ['.']).map((r) => resolve(r));
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const meRate = values['me-rate'] ? Number(values['me-rate']) : undefined;
const healthRate = values['health-rate'] ? Number(values['health-rate']) : undefined;

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

const rates = `/auth/me ${meRate ?? 'uncapped'}, /health/live ${healthRate ?? 'uncapped'} req/s`;
console.log(
  `db-stall: ${rounds} rounds x ${seconds} s per measure; ${rates}; load average ${loadavg()}`,
);
for (const root of roots) {
  const server = await startServer('bastion', `${root}/bench/servers/bastion.ts`, {
    env: { NODE_ENV: 'development' },
  });
  try {
    const tokens = await mintToken(server.origin);
    const auth = { authorization: `Bearer ${tokens[0]}` };
    await load(`${server.origin}/auth/me`, 50, auth); // warm-up
    const alone: Measure[] = [];
    const me: Measure[] = [];
    const beside: Measure[] = [];
    for (let i = 0; i < rounds; i++) {
      alone.push(await load(`${server.origin}/health/live`, 10, {}, healthRate));
      const [m, h] = await Promise.all([
        load(`${server.origin}/auth/me`, 50, auth, meRate),
        load(`${server.origin}/health/live`, 10, {}, healthRate),
      ]);
      me.push(m);
      beside.push(h);
    }
    const line = (name: string, ms: Measure[]) =>
      `  ${name.padEnd(38)} ${median(ms.map((m) => m.rps))
        .toFixed(0)
        .padStart(7)} req/s  p50 ${median(ms.map((m) => m.p50))
        .toFixed(1)
        .padStart(6)} ms  p99 ${median(ms.map((m) => m.p99))
        .toFixed(1)
        .padStart(7)} ms  errors ${ms.reduce((a, m) => a + m.errors, 0)}`;
    console.log(`\n${root}`);
    console.log(line('/health/live alone (10 conns)', alone));
    console.log(line('/auth/me (50 conns), beside health', me));
    console.log(line('/health/live beside /auth/me', beside));
    const ratio = median(beside.map((m) => m.p99)) / Math.max(median(alone.map((m) => m.p99)), 1);
    console.log(`  => /health/live p99 beside DB load / alone: ${ratio.toFixed(2)}x`);
  } finally {
    await server.stop();
  }
}
console.log(`\nload average at the end ${loadavg()}`);
