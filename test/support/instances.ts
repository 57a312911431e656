/**
 * Compiled server processes for tests that run the deployment as it ships: `dist/` built when
 * stale, the image's own command (the Dockerfile's CMD) started with a given environment, its
 * port read from its log, its readiness probed, and SIGTERM with the port checked free after.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds dist/ when it is older than the sources (CI builds before the tests: then a no-op). */
export function buildDistIfStale(): void {
  const build = spawnSync(process.execPath, ['scripts/dist.mjs', 'build-if-stale'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
}

/** The final stage's `CMD` of the Dockerfile, as an argv: what the image runs. */
export function imageCommand(): string[] {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const cmd = [...dockerfile.matchAll(/^CMD (\[.*\])$/gm)].at(-1)?.[1];
  if (!cmd) throw new Error('no CMD in the Dockerfile');
  return JSON.parse(cmd) as string[];
}

/** The final stage's `ENV` settings of the Dockerfile. */
export function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const env: Record<string, string> = {};
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  for (const line of finalStage.matchAll(/^ENV (.*)$/gm))
    for (const m of (line[1] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g))
      env[m[1] as string] = m[2] as string;
  return env;
}

export interface Instance {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  /** Everything the process wrote so far. */
  output(): string;
  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL, for cleanup after a failure. */
  kill(): void;
}

export interface StartOptions {
  /** The complete environment beyond PATH and HOME. */
  env: Record<string, string>;
  /** Resolves true once the instance answers as ready (it gets the port). */
  ready: (port: number) => Promise<boolean>;
  timeoutMs?: number;
}

/** Starts the image's command on this machine and waits until `ready` says so. */
export async function startInstance(name: string, options: StartOptions): Promise<Instance> {
  const [command, ...args] = imageCommand();
  const child: ChildProcess = spawn(command === 'node' ? process.execPath : String(command), args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let port: number | undefined;
  while (Date.now() < deadline && child.exitCode === null) {
    port ??= Number(/listening at http:\/\/[^\s"]+:(\d+)/i.exec(output)?.[1]) || undefined;
    if (port !== undefined && (await options.ready(port))) break;
    await sleep(100);
  }
  if (port === undefined || child.exitCode !== null || !(await options.ready(port))) {
    child.kill('SIGKILL');
    throw new Error(`${name} did not become ready:\n${output}`);
  }
  return {
    name,
    port,
    pid: child.pid as number,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request to 127.0.0.1:port, from `localAddress` (a loopback address) when given. */
export function request(
  port: number,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: string;
    localAddress?: string;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        localAddress: options.localAddress,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${options.path}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** True when this process can listen on the port: nothing holds it any more. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () =>
      probe.close(() => resolve(true)),
    );
  });
}
