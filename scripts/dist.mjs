// Whether `dist/` holds a build of the current sources, and building it when it does not.
// Plain JavaScript (no transpiler): `prestart` and `bin/bastion.mjs` use it before anything is built.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
/** Written by every build (tsc's incremental state); its mtime is the build's time. */
export const BUILD_INFO = join(ROOT, 'dist', '.tsbuildinfo');
const INPUTS = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json'];

function newestInput(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return path.endsWith('.test.ts') ? 0 : stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestInput(join(path, entry)));
  return newest;
}

/**
 * True when dist/ was built after the last change to the compiled sources. An image or a
 * package that ships dist/ without src/ is current by definition.
 */
export function distIsCurrent() {
  if (!existsSync(join(ROOT, 'dist', 'src', 'main.js'))) return false;
  if (!existsSync(join(ROOT, 'src'))) return true;
  if (!existsSync(BUILD_INFO)) return false;
  const built = statSync(BUILD_INFO).mtimeMs;
  return INPUTS.every((input) => newestInput(join(ROOT, input)) <= built);
}

/** Runs `tsc -p tsconfig.build.json` (incremental); exits the process if it fails. */
export function build() {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (run.status !== 0) {
    // tsc may have written its state despite the errors: the next start must build again.
    rmSync(BUILD_INFO, { force: true });
    process.exit(run.status ?? 1);
  }
  // tsc leaves its state untouched when nothing it compiles changed (e.g. a file only touched):
  // mark the build as current anyway, so the next start does not check again.
  const now = new Date();
  if (existsSync(BUILD_INFO)) utimesSync(BUILD_INFO, now, now);
}

if (import.meta.main ?? process.argv[1] === import.meta.filename) {
  const mode = process.argv[2];
  if (mode === 'build') build();
  else if (mode === 'build-if-stale') {
    if (distIsCurrent()) process.stdout.write('bastion: dist/ is current\n');
    else build();
  } else {
    process.stderr.write('usage: node scripts/dist.mjs build | build-if-stale\n');
    process.exit(2);
  }
}
