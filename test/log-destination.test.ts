/**
 * The log destination batches lines (src/platform/logger.ts): nothing logged may be lost or held
 * back. A child process logs through it into a file; the test reads the file.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'bastion-logdest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (file: string): string[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => (JSON.parse(l) as { msg: string }).msg)
    : [];

/** Runs `script` (an ES module body with `log`, a pino logger on the destination) in a child. */
function child(name: string, script: string) {
  const file = join(dir, `${name}.log`);
  const source =
    `import pino from 'pino';\n` +
    `import { logDestination } from ${JSON.stringify(join(ROOT, 'src/platform/logger.ts'))};\n` +
    `const log = pino(logDestination(${JSON.stringify(file)}));\n${script}`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  return { file, proc, exited, stderr: () => stderr };
}

describe('the batching log destination', () => {
  it('writes a lone line within the flush interval, with no more lines to fill the batch', async () => {
    const run = child('quiet', `log.info('lone'); setTimeout(() => {}, 60_000);`);
    try {
      let seen: string[] = [];
      // Time for the child to start (tsx compiles), then one flush interval (250 ms).
      for (let waited = 0; waited < 30_000 && !seen.includes('lone'); waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
        seen = lines(run.file);
      }
      expect(seen, run.stderr()).toEqual(['lone']);
    } finally {
      run.proc.kill('SIGKILL');
      await run.exited;
    }
  });

  it('flushes what it holds when the process exits, normally or on an uncaught exception', async () => {
    const normal = child(
      'exit',
      `for (let i = 0; i < 3; i++) log.info('line ' + i); process.exit(0);`,
    );
    const crash = child(
      'crash',
      `log.info('before the crash'); setImmediate(() => { throw new Error('boom'); });`,
    );
    expect(await normal.exited, normal.stderr()).toBe(0);
    expect(await crash.exited).toBe(1);
    expect(crash.stderr()).toContain('boom');
    expect(lines(normal.file)).toEqual(['line 0', 'line 1', 'line 2']);
    expect(lines(crash.file)).toEqual(['before the crash']);
  });

  it('batches: many lines in a burst cost far fewer writes than lines', async () => {
    // A child counts its own write calls to the log file's descriptor.
    const run = child(
      'burst',
      `import fs from 'node:fs';
       let writes = 0;
       const writeSync = fs.writeSync;
       fs.writeSync = (...args) => { writes++; return writeSync(...args); };
       for (let i = 0; i < 1000; i++) log.info({ i }, 'burst');
       process.stderr.write('writes=' + writes + '\\n');
       process.exit(0);`,
    );
    expect(await run.exited, run.stderr()).toBe(0);
    expect(lines(run.file)).toHaveLength(1000);
    const writes = Number(/writes=(\d+)/.exec(run.stderr())?.[1]);
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(100);
  });
});
