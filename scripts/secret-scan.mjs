// Secret scanner for CI: secretlint with its recommended rules (.secretlintrc.json) over the tree.
//   node scripts/secret-scan.mjs                 every file `git ls-files` lists; exit 1 on a finding
//   node scripts/secret-scan.mjs [--json] FILE…  these files (the test points it at fixtures)
// Findings are printed masked (secretlint's default), so a CI log never shows the secret. A made-up
// credential a test needs is marked on the line above with `secretlint-disable-next-line`.
// Plain JavaScript: it runs before anything is built.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const SECRETLINT = join(ROOT, 'node_modules', 'secretlint', 'bin', 'secretlint.js');

/** The tracked files that exist in the working tree (a deleted, uncommitted file is skipped). */
export function trackedFiles() {
  const ls = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  if (ls.status !== 0) throw new Error(`git ls-files failed: ${ls.stderr}`);
  return ls.stdout.split('\0').filter((file) => file !== '' && existsSync(join(ROOT, file)));
}

if (import.meta.main ?? process.argv[1] === import.meta.filename) {
  const args = process.argv.slice(2);
  const json = args[0] === '--json';
  const given = json ? args.slice(1) : args;
  const files = given.length > 0 ? given : trackedFiles();
  const run = spawnSync(
    process.execPath,
    [
      SECRETLINT,
      '--secretlintrc',
      join(ROOT, '.secretlintrc.json'),
      '--format',
      json ? 'json' : 'unix',
      '--no-color',
      '--no-glob',
      ...files,
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  if (run.status !== 0) process.exit(run.status ?? 1);
  if (!json) process.stdout.write(`secret scan: ${files.length} files, no secrets found\n`);
}
