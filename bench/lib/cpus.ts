/**
 * CPU placement. With taskset and at least two CPUs, each server runs on the last CPU and the
 * load generator on the others, so they do not steal each other's core and runs are steadier.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface Placement {
  /** taskset CPU list for the server under test, or '' for no pinning. */
  readonly server: string;
  /** taskset CPU list for the load generator, or ''. */
  readonly load: string;
}

export function placement(pin: boolean): Placement {
  const n = availableParallelism();
  const taskset = spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0;
  if (!pin || !taskset || n < 2) return { server: '', load: '' };
  return { server: String(n - 1), load: n === 2 ? '0' : `0-${n - 2}` };
}

/** Pins every thread of this process (autocannon runs here) to `cpus`. */
export function pinSelf(cpus: string): void {
  if (cpus)
    spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}
