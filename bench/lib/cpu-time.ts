/**
 * A process's CPU time (user + system, all threads) from /proc (Linux). CPU µs per request is a
 * steadier cost figure than requests/s when other work shares the machine.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** The name and CPU µs (user + system) of a `/proc/.../stat` file: a process or one thread. */
function readStat(path: string): { name: string; us: number } {
  const stat = readFileSync(path, 'utf8');
  const close = stat.lastIndexOf(')');
  // Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
  const fields = stat.slice(close + 2).split(' ');
  const us = ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticks;
  return { name: stat.slice(stat.indexOf('(') + 1, close), us };
}

/** CPU µs used so far by `pid`, or undefined where /proc is not available. */
export function cpuTimeUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return readStat(`/proc/${pid}/stat`).us;
  } catch {
    return undefined;
  }
}

/**
 * CPU µs used so far by each kind of thread of `pid`, summed by thread name (Node names its
 * threads: `MainThread` the event loop, `libuv-worker` the pool argon2 runs on, `WorkerThread` a
 * worker_threads thread such as the embedded database's, `V8Worker` V8's GC and compiler helpers).
 * Empty where /proc is not available.
 */
export function threadCpuUs(pid: number | undefined): Map<string, number> {
  const byName = new Map<string, number>();
  if (pid === undefined) return byName;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tids) {
    try {
      const { name, us } = readStat(`/proc/${pid}/task/${tid}/stat`);
      byName.set(name, (byName.get(name) ?? 0) + us);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return byName;
}

/** What each kind of thread spent between two `threadCpuUs` readings, per unit of work. */
export function threadCpuDelta(
  before: Map<string, number>,
  after: Map<string, number>,
  units: number,
): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [name, us] of after) {
    const spent = (us - (before.get(name) ?? 0)) / Math.max(1, units);
    if (spent > 0) delta.set(name, spent);
  }
  return delta;
}
