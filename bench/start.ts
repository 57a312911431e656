/**
 * Cold starts of the real entry point (issue 17): the compiled server (`node dist/src/main.js`)
 * against the TypeScript one through tsx, on the embedded defaults. Each run starts on a fresh
 * DATA_DIR (first start: PGlite initdb and every migration), stops, then starts again on the same
 * directory (second start). Reports time from spawn to the first 200 from /health/ready and the
 * server's RSS then and 10 s later (settled), min/median/max over the runs.
 *
 *   npm run bench:start            (npm run build, then npx tsx bench/start.ts [runs=5])
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRODUCTION_NODE_ARGS } from './lib/production-entry.js';

const ROOT = join(import.meta.dirname, '..');
const RUNS = Number(process.argv[2] ?? 5);
const MODES = {
  compiled: PRODUCTION_NODE_ARGS,
  tsx: ['--import', 'tsx', 'src/main.ts'],
} as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The idle server's RSS is read this long after ready. */
const SETTLE_MS = 10_000;

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

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m?.[1] ?? 0) / 1024);
}

async function start(args: readonly string[], dataDir: string) {
  const began = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
      LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${out}`);
    const port = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    if (port && (await ready(Number(port)))) break;
    await sleep(20);
  }
  const ms = performance.now() - began;
  const rss = rssMb(child.pid ?? 0);
  // At the first 200 the RSS still holds start-up's transients (on embedded, ~250 MB more than
  // a few seconds later): the idle server's own figure is taken after it settles.
  await sleep(SETTLE_MS);
  const settled = rssMb(child.pid ?? 0);
  child.kill('SIGTERM');
  await exited;
  return { ms, rss, settled };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0]?.toFixed(0)} / ${s[Math.floor(s.length / 2)]?.toFixed(0)} / ${s.at(-1)?.toFixed(0)}`;
};

const rows: string[] = [];
for (const [mode, args] of Object.entries(MODES)) {
  const first = { ms: [] as number[], rss: [] as number[], settled: [] as number[] };
  const second = { ms: [] as number[], rss: [] as number[], settled: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-bench-start-'));
    try {
      const a = await start(args, dir);
      const b = await start(args, dir);
      first.ms.push(a.ms);
      first.rss.push(a.rss);
      first.settled.push(a.settled);
      second.ms.push(b.ms);
      second.rss.push(b.rss);
      second.settled.push(b.settled);
      process.stderr.write(
        `${mode} run ${i + 1}: first ${a.ms.toFixed(0)} ms ${a.rss} MB (${a.settled} MB settled), ` +
          `second ${b.ms.toFixed(0)} ms ${b.rss} MB (${b.settled} MB settled)\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const [start, s] of [
    ['first', first],
    ['second', second],
  ] as const) {
    rows.push(`| ${mode} | ${start} | ${stats(s.ms)} | ${stats(s.rss)} | ${stats(s.settled)} |`);
  }
}
process.stdout.write(
  '| entry | start | ready, ms (min / median / max) | RSS at ready, MB | RSS 10 s later, MB |\n' +
    `|---|---|---|---|---|\n${rows.join('\n')}\n`,
);
