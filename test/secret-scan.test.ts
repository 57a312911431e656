/**
 * The secret scanner CI runs (`node scripts/secret-scan.mjs`: secretlint, recommended rules) fires:
 * on a private key, an AWS secret access key and a database URL with a password, made at test time
 * in a temporary directory (no real-looking secret is committed, or the tree scan below would find
 * it); a `secretlint-disable-next-line` mark hides its own line only; and the tracked tree is clean.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'bastion-secret-scan-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Finding {
  file: string;
  ruleId: string;
  line: number;
}

function scan(args: string[]) {
  const run = spawnSync(process.execPath, ['scripts/secret-scan.mjs', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return run;
}

/** The findings for `files`, as file name, rule and line. */
function findings(files: string[]): { status: number | null; found: Finding[] } {
  const run = scan(['--json', ...files]);
  const results = JSON.parse(run.stdout) as {
    filePath: string;
    messages: { ruleId: string; loc: { start: { line: number } } }[];
  }[];
  const found = results.flatMap((r) =>
    r.messages.map((m) => ({
      file: r.filePath.slice(dir.length + 1),
      ruleId: m.ruleId.replace('@secretlint/secretlint-rule-', ''),
      line: m.loc.start.line,
    })),
  );
  // secretlint reads its files concurrently, so results come in any order: sort them.
  found.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { status: run.status, found };
}

/**
 * 40 characters of the AWS secret key alphabet, random each run; alphanumeric, since the rule
 * wants a word boundary after the key (a key ending in `/` or `+` would be missed: not our point).
 */
const awsSecret = () => randomBytes(20).toString('hex');

function fixture(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('secret scanner (secretlint)', () => {
  it('fires on a private key, an AWS secret access key and a database password', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = fixture(
      'deploy.pem',
      privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    );
    const aws = fixture(
      'credentials',
      `[default]\naws_access_key_id = AKIA${randomBytes(8).toString('hex').toUpperCase()}\naws_secret_access_key = ${awsSecret()}\n`,
    );
    const env = fixture(
      'settings.env',
      `PORT=3000\nDATABASE_URL=postgres://bastion:${randomBytes(12).toString('hex')}@db.internal:5432/bastion\n`,
    );
    const clean = fixture('clean.ts', "export const greeting = 'hello';\n");

    const { status, found } = findings([key, aws, env, clean]);
    expect(status).toBe(1);
    expect(found).toEqual([
      { file: 'credentials', ruleId: 'aws', line: 3 },
      { file: 'deploy.pem', ruleId: 'privatekey', line: 1 },
      { file: 'settings.env', ruleId: 'database-connection-string', line: 2 },
    ]);
  });

  it('a secretlint-disable-next-line mark hides its own line only', () => {
    const file = fixture(
      'marked.env',
      [
        '# secretlint-disable-next-line -- a made-up credential',
        `aws_secret_access_key = ${awsSecret()}`,
        `aws_secret_access_key = ${awsSecret()}`,
        '',
      ].join('\n'),
    );
    const { status, found } = findings([file]);
    expect(status).toBe(1);
    expect(found).toEqual([{ file: 'marked.env', ruleId: 'aws', line: 3 }]);
  });

  it('prints findings masked, as CI does', () => {
    const secret = awsSecret();
    const file = fixture('leak.env', `aws_secret_access_key = ${secret}\n`);
    const run = scan([file]);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('found AWS Secret Access Key');
    expect(run.stdout + run.stderr).not.toContain(secret);
  });

  it('finds nothing in the tracked tree', () => {
    const run = scan([]);
    expect(run.stderr + run.stdout).toMatch(/^secret scan: \d+ files, no secrets found$/m);
    expect(run.status).toBe(0);
  });
});
