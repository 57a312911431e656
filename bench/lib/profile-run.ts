/**
 * `--profile`: runs one warmed-up load against each side with V8's CPU profiler on for exactly that
 * run (lib/profiler-hook.ts), then prints busy CPU µs per request by module for A and B (where B's
 * extra time goes) and B's top self-time functions.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type LoadRequest, type LoadTool, runLoad, warmUp } from './load.js';
import { type ProfileSummary, summarizeProfile } from './profile.js';
import type { Scenario, ScenarioRequests } from './scenario.js';
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

/** One warmed-up load with the profiler on for exactly that run; the server is stopped after. */
async function profileOne(
  o: ProfileOptions,
  server: ServerHandle,
  out: string,
  path: string,
  request: LoadRequest | undefined,
) {
  try {
    const base = {
      url: `${server.origin}${path}`,
      tool: o.tool,
      connections: o.connections,
      request,
    };
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
  const dir = o.keepDir
    ? join(o.keepDir, scenario.name)
    : mkdtempSync(join(tmpdir(), 'bench-prof-'));
  mkdirSync(dir, { recursive: true });
  try {
    const outA = join(dir, 'bare.cpuprofile');
    const outB = join(dir, 'bastion.cpuprofile');
    // Both listen before the setup runs (it may log in on Bastion and mint tokens there).
    const bare = await o.start('bare', 'bare.ts', ['--import', HOOK], { BENCH_PROFILE_OUT: outA });
    const bastion = await o
      .start('bastion', 'bastion.ts', ['--import', HOOK], { BENCH_PROFILE_OUT: outB })
      .catch(async (err: unknown) => {
        await bare.stop();
        throw err;
      });
    let a: Awaited<ReturnType<typeof profileOne>>;
    let b: typeof a;
    try {
      const reqs: ScenarioRequests = (await scenario.setup?.({ bare, bastion })) ?? {};
      a = await profileOne(o, bare, outA, reqs.barePath ?? scenario.barePath, reqs.bare);
      b = await profileOne(
        o,
        bastion,
        outB,
        reqs.bastionPath ?? scenario.bastionPath,
        reqs.bastion,
      );
    } finally {
      // profileOne stops the server it profiled; a second stop() is harmless.
      await Promise.all([bare.stop(), bastion.stop()]);
    }
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
