/**
 * A process's CPU time (user + system, all threads) from /proc (Linux). CPU µs per request is a
 * steadier cost figure than requests/s when other work shares the machine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU µs used so far by `pid`, or undefined where /proc is not available. */
export function cpuTimeUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticks;
  } catch {
    return undefined;
  }
}
