/**
 * Starts a server entry (bench/servers/*.ts) in its own Node process, so it owns an event loop as
 * in production, and waits for the `BENCH_LISTENING <port>` line it prints once listening.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export const READY_PREFIX = 'BENCH_LISTENING ';

export interface ServerHandle {
  readonly name: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly child: ChildProcess;
  /** SIGTERM, then wait for exit (the child closes cleanly, which flushes a --cpu-prof). */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly env?: Record<string, string>;
  /** Extra node flags, after tsx's loader (so `--import x.ts` works). */
  readonly nodeArgs?: readonly string[];
  /** Pin the child to these CPUs with taskset (e.g. "1"); ignored when empty. */
  readonly cpus?: string;
  readonly timeoutMs?: number;
}

export function startServer(
  name: string,
  entry: string,
  options: StartOptions = {},
): Promise<ServerHandle> {
  const nodeArgv = ['--import', 'tsx', ...(options.nodeArgs ?? []), entry];
  const [cmd, args] = options.cpus
    ? ['taskset', ['-c', options.cpus, process.execPath, ...nodeArgv]]
    : [process.execPath, nodeArgv];
  const child = spawn(cmd, args, {
    env: { ...process.env, ...options.env },
    // The IPC channel closes when this process dies, and the child then exits (onStop).
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${name}: not listening after ${options.timeoutMs ?? 180_000} ms`));
    }, options.timeoutMs ?? 180_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited before listening (code ${code}, signal ${signal})`));
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (!line.startsWith(READY_PREFIX)) return;
      clearTimeout(timer);
      const port = Number(line.slice(READY_PREFIX.length));
      resolve({ name, port, origin: `http://127.0.0.1:${port}`, child, stop });
    });
  });
}

/** For server entries: announce the port to the parent. */
export function announce(port: number): void {
  if (process.connected === false) process.kill(process.pid, 'SIGTERM');
  process.stdout.write(`${READY_PREFIX}${port}\n`);
}

/**
 * For server entries: runs `close` then exits on SIGTERM or when the parent goes away (its IPC
 * channel closes), so a crashed runner leaves no server behind. Exiting normally also lets a
 * `--cpu-prof` child write its profile.
 */
export function onStop(close: () => Promise<unknown>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void close()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  // The parent may have gone while this module's imports were still loading.
  if (process.connected === false) stop();
}

/** Starts every server, or stops those that started and rethrows when one fails. */
export async function startAll(starts: readonly Promise<ServerHandle>[]): Promise<ServerHandle[]> {
  const settled = await Promise.allSettled(starts);
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => s.stop()));
    throw failed.reason;
  }
  return started;
}
