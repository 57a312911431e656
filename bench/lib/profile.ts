/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and per module
 * (npm package, Node core area, Bastion source file), in microseconds per served request.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  /** Busy CPU µs (idle excluded) spent in it per request. */
  readonly usPerRequest: number;
  /** Share of busy (non-idle) samples. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly busyUsPerRequest: number;
  readonly byModule: SelfTime[];
  readonly byFunction: SelfTime[];
}

/** The module a frame belongs to: `pkg` for node_modules, `node:area`, `src/file`, `(gc)`... */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const core = /^node:(?:internal\/)?([^/]+)/.exec(url);
  if (core) return `node:${core[1]}`;
  const own = /\/((?:src|bench|migrations)\/.*)$/.exec(url);
  return own ? (own[1] as string) : url;
}

/** A frame's file, short: `pino/lib/tools.js`, `node:events`, `src/app.ts`. */
function fileOf(url: string): string {
  return url.replace(/^.*node_modules\//, '').replace(/^.*\/((?:src|bench|migrations)\/)/, '$1');
}

export function summarizeProfile(path: string, requests: number, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  // timeDeltas[i + 1] is how long the sample i stayed current.
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (!frame || frame.functionName === '(idle)') return;
    busy += us;
    const mod = moduleOf(frame.url, frame.functionName);
    modules.set(mod, (modules.get(mod) ?? 0) + us);
    const fn = `${frame.functionName || '(anonymous)'} ${fileOf(frame.url) || mod}:${frame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  });
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, usPerRequest: us / requests, share: us / busy }));
  return {
    busyUsPerRequest: busy / requests,
    byModule: rank(modules),
    byFunction: rank(functions),
  };
}
