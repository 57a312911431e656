/**
 * Start-up loads only what serving needs (issue 17): the packages behind social login, TOTP
 * enrolment, uploads, posts, passkeys, mail and Redis are imported on first use, each of them
 * ~70-170 ms of start-up on this machine. A real server process (`src/main.ts`, social login
 * configured) runs under a recorder of every package it loads; once it is ready, none of these
 * has been loaded. The recorder's own check: fastify and kysely are in the list.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'bastion-lazy-imports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LAZY = [
  'openid-client',
  'arctic',
  'qrcode',
  'file-type',
  'sanitize-html',
  'sharp',
  '@simplewebauthn/server',
  'nodemailer',
  'ioredis',
  'stripe',
];

async function loadedAtReady(): Promise<Set<string>> {
  const file = join(dir, 'imports.txt');
  writeFileSync(file, '');
  const child = spawn(
    process.execPath,
    ['--import', './test/support/record-imports.mjs', '--import', 'tsx', 'src/main.ts'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: '0',
        DATA_DIR: join(dir, 'data'),
        BASTION_TEST_IMPORTS_FILE: file,
        // Both kinds of social provider are built at start-up; their libraries must not load.
        OAUTH_GITHUB_CLIENT_ID: 'lazy-imports-test',
        OAUTH_GITHUB_CLIENT_SECRET: 'not-a-real-secret',
        OAUTH_ACME_ISSUER: 'http://127.0.0.1:9/acme',
        OAUTH_ACME_CLIENT_ID: 'lazy-imports-test',
        OAUTH_ACME_CLIENT_SECRET: 'not-a-real-secret',
        LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
        LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited:\n${out}`);
      if (Date.now() > deadline) throw new Error(`server not ready in 120 s:\n${out}`);
      const port = /listening at http:\/\/127\.0\.0\.1:(\d+)/i.exec(out)?.[1];
      const ready = port
        ? await fetch(`http://127.0.0.1:${port}/health/ready`).then(
            (r) => r.status === 200,
            () => false,
          )
        : false;
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean));
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

describe('start-up imports', () => {
  it('loads none of the on-first-use libraries before the server is ready', async () => {
    const loaded = await loadedAtReady();
    expect(loaded).toContain('fastify');
    expect(loaded).toContain('kysely');
    expect(LAZY.filter((pkg) => loaded.has(pkg))).toEqual([]);
  }, 150_000);
});
