/**
 * The documented start command, signalled: `npm start` (after a build) is killed with SIGTERM, as
 * a process manager or a terminal would, and within SHUTDOWN_TIMEOUT_MS the server process is
 * gone, its port can be bound again and the embedded database lock can be taken. Before the
 * start script exec'd node, npm's shell died and left the server holding both.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDataDirLock } from '../src/platform/db/data-dir-lock.js';

const ROOT = join(import.meta.dirname, '..');
const SHUTDOWN_TIMEOUT_MS = 10_000;
const dataDir = mkdtempSync(join(tmpdir(), 'bastion-start-signal-'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let npm: ChildProcess | undefined;
let serverPid: number | undefined;
let output = '';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readyStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/health/ready', agent: false, timeout: 2000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });
}

/** True when this process can listen on the port: nothing holds it any more. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () =>
      probe.close(() => resolve(true)),
    );
  });
}

/** True when the data directory's lock can be taken (and it is given back at once). */
function lockIsFree(): boolean {
  try {
    acquireDataDirLock(dataDir).release();
    return true;
  } catch {
    return false;
  }
}

beforeAll(() => {
  // `npm start` builds in prestart when dist/ is stale; build first so the start is only a start.
  const build = spawnSync(process.execPath, ['scripts/dist.mjs', 'build-if-stale'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
}, 620_000);

afterAll(async () => {
  if (serverPid !== undefined && isAlive(serverPid)) process.kill(serverPid, 'SIGKILL');
  if (npm?.exitCode === null) npm.kill('SIGKILL');
  await sleep(100);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start, signalled', () => {
  it('stops the server: its port and the data directory lock are free within the shutdown timeout', async () => {
    npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: '0',
        DATA_DIR: dataDir,
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        RETENTION_INTERVAL_SECONDS: '0',
        // On a starved machine load shedding would rightly answer 503 to the readiness probe.
        LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
        LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    npm.stdout?.on('data', collect);
    npm.stderr?.on('data', collect);

    // The server logs its pid with every line, and the port the kernel gave it.
    let port: number | undefined;
    const startDeadline = Date.now() + 240_000;
    while (Date.now() < startDeadline && npm.exitCode === null) {
      const m = /"pid":(\d+),[^\n]*listening at http:\/\/127\.0\.0\.1:(\d+)/i.exec(output);
      if (m) {
        serverPid = Number(m[1]);
        port = Number(m[2]);
        if ((await readyStatus(port)) === 200) break;
      }
      await sleep(200);
    }
    if (port === undefined || serverPid === undefined || (await readyStatus(port)) !== 200)
      throw new Error(`the server did not become ready:\n${output}`);
    expect(serverPid).not.toBe(npm.pid);
    expect(lockIsFree()).toBe(false);

    npm.kill('SIGTERM');

    const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS;
    let state = { alive: true, port: false, lock: false };
    while (Date.now() < deadline) {
      state = { alive: isAlive(serverPid), port: await portIsFree(port), lock: lockIsFree() };
      if (!state.alive && state.port && state.lock) break;
      await sleep(100);
    }
    expect(state, output).toEqual({ alive: false, port: true, lock: true });
    expect(output).toContain('"signal":"SIGTERM"');
  }, 300_000);
});
