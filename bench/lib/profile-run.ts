/**
 * `--profile`: runs one warmed-up load against each side with V8's CPU profiler on for exactly that
 * run (lib/profiler-hook.ts), then prints busy CPU µs per request by module for A and B (where B's
 * extra time goes) and B's top self-time functions.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type LoadTool, runLoad, warmUp } from './load.js';
import { type ProfileSummary, summarizeProfile } from './profile.js';
import type { Scenario } from './scenario.js';
import type { ServerHandle } from './server.js';

export interface ProfileOptions {
  readonly start: (
    name: string,
    file: string,
    nodeArgs: string[],
    env: Record<string, string>,
  ) => Promise<ServerHandle>;
  readonly tool: LoadTool;
  readonly seconds: number;
  readonly connections: number;
  readonly cpus: string;
  /** Keep the .cpuprofile files here (open them in Chrome DevTools); a temp dir otherwise. */
  readonly keepDir?: string;
}

const HOOK = new URL('./profiler-hook.ts', import.meta.url).pathname;

async function profileOne(
  o: ProfileOptions,
  name: string,
  file: string,
  path: string,
  dir: string,
) {
  const out = join(dir, `${name}.cpuprofile`);
  const server = await o.start(name, file, ['--import', HOOK], { BENCH_PROFILE_OUT: out });
  try {
    const base = { url: `${server.origin}${path}`, tool: o.tool, connections: o.connections };
    await warmUp({ ...base, cpus: o.cpus });
    server.child.kill('SIGUSR2');
    await sleep(50);
    const result = await runLoad({ ...base, cpus: o.cpus, seconds: o.seconds });
    server.child.kill('SIGUSR2');
    for (let i = 0; i < 200 && !existsSync(out); i++) await sleep(50);
    return { rps: result.requestsPerSec, summary: summarizeProfile(out, result.requests, 25) };
  } finally {
    await server.stop();
  }
}

const us = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(2)).padStart(7);

function printModules(a: ProfileSummary, b: ProfileSummary): void {
  const aBy = new Map(a.byModule.map((m) => [m.name, m.usPerRequest]));
  console.log(`   busy CPU µs/request: A ${us(a.busyUsPerRequest)}   B ${us(b.busyUsPerRequest)}`);
  console.log('   self time by module, µs/request:     A        B    B share');
  for (const m of b.byModule) {
    console.log(
      `     ${m.name.padEnd(32)} ${us(aBy.get(m.name))}  ${us(m.usPerRequest)}  ${(m.share * 100).toFixed(1).padStart(5)}%`,
    );
  }
}

export async function profileScenario(scenario: Scenario, o: ProfileOptions): Promise<void> {
  if (scenario.setup) throw new Error(`--profile does not run setup yet (${scenario.name})`);
  const dir = o.keepDir
    ? join(o.keepDir, scenario.name)
    : mkdtempSync(join(tmpdir(), 'bench-prof-'));
  mkdirSync(dir, { recursive: true });
  try {
    const a = await profileOne(o, 'bare', 'bare.ts', scenario.barePath, dir);
    const b = await profileOne(o, 'bastion', 'bastion.ts', scenario.bastionPath, dir);
    console.log(
      `\n== profile ${scenario.name} (profiler on: A ${Math.round(a.rps)} req/s, B ${Math.round(b.rps)} req/s)`,
    );
    printModules(a.summary, b.summary);
    for (const [side, s, n] of [
      ['A', a.summary, 10],
      ['B', b.summary, 25],
    ] as const) {
      console.log(`   ${side} top self-time functions, µs/request (share of busy):`);
      for (const f of s.byFunction.slice(0, n)) {
        console.log(
          `     ${us(f.usPerRequest)}  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}`,
        );
      }
    }
    if (o.keepDir) console.log(`   profiles: ${dir}/{bare,bastion}.cpuprofile`);
  } finally {
    if (!o.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}
