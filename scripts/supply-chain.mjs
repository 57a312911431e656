// Supply-chain gate for CI: the lockfile's policy and the licences of what production installs.
//   node scripts/supply-chain.mjs            check package-lock.json, exit 1 on any violation
// Plain JavaScript: it runs before anything is built. The checks are exported for the test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** SPDX identifiers production dependencies may carry (each term of an AND/OR expression). */
export const LICENSE_ALLOWLIST = new Set([
  '0BSD',
  'Apache-2.0',
  'BlueOak-1.0.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'ISC',
  'MIT',
  'MIT-0',
  // libvips, shipped by sharp as prebuilt shared libraries (dynamically linked, unmodified).
  'LGPL-3.0-or-later',
]);

/** True when `expression` is allowed: every AND term, and at least one side of each OR. */
export function licenseAllowed(expression) {
  const clean = expression.replace(/[()]/g, ' ').trim();
  if (clean === '') return false;
  return clean
    .split(/\s+OR\s+/)
    .some((alt) => alt.split(/\s+AND\s+/).every((id) => LICENSE_ALLOWLIST.has(id.trim())));
}

/** A workspace folder (packages/*, examples/*): the project's own source, nothing downloaded. */
function isWorkspace(path) {
  return !path.startsWith('node_modules/') && !path.includes('/node_modules/');
}

/**
 * Violations of the lockfile policy: every package comes from the one registry the project uses
 * (no git, file, link-outside or plain-http sources; no `resolved` host other than the registry's
 * tarball form) with a sha512 integrity hash; the workspaces' own folders are exempt. Optional
 * packages for other platforms that the lock lists without a hash are tolerated (npm fills them
 * in where they install) but never for a package this machine installed.
 */
export function lockfileViolations(lock, isInstalled = () => true) {
  const problems = [];
  if (lock.lockfileVersion !== 3) problems.push(`lockfileVersion ${lock.lockfileVersion}: want 3`);
  const hosts = new Set();
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (path === '') continue;
    if (isWorkspace(path)) continue;
    if (entry.link) {
      if (String(entry.resolved ?? '').startsWith('..'))
        problems.push(`${path}: links outside the tree`);
      continue;
    }
    const resolved = entry.resolved;
    if (resolved !== undefined) {
      const m = /^https:\/\/([^/]+)\/(?:@[^/]+\/)?[^/]+\/-\/[^/]+\.tgz$/.exec(resolved);
      if (!m) problems.push(`${path}: resolved from a non-registry source`);
      else hosts.add(m[1]);
    }
    if (entry.integrity === undefined) {
      const platformOnly = entry.optional === true && (entry.os || entry.cpu);
      if (!platformOnly || isInstalled(path)) problems.push(`${path}: no integrity hash`);
    } else if (!/^sha512-[A-Za-z0-9+/]+=*$/.test(entry.integrity)) {
      problems.push(`${path}: integrity is not sha512`);
    }
  }
  if (hosts.size > 1) problems.push(`packages resolve from ${hosts.size} hosts: want one registry`);
  return problems;
}

/** Production packages whose licence is missing or outside the allowlist. */
export function licenseViolations(lock, isInstalled = () => true) {
  const problems = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (path === '' || entry.link || entry.dev || isWorkspace(path)) continue;
    if (entry.license === undefined) {
      // Other platforms' binaries are listed without metadata; they are checked where installed.
      if (entry.optional && (entry.os || entry.cpu) && !isInstalled(path)) continue;
      problems.push(`${path}: no licence declared`);
    } else if (!licenseAllowed(entry.license)) {
      problems.push(`${path}: licence ${entry.license} is not allowed`);
    }
  }
  return problems;
}

if (import.meta.main ?? process.argv[1] === import.meta.filename) {
  const root = join(import.meta.dirname, '..');
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const installed = (path) => {
    try {
      readFileSync(join(root, path, 'package.json'));
      return true;
    } catch {
      return false;
    }
  };
  const problems = [...lockfileViolations(lock, installed), ...licenseViolations(lock, installed)];
  for (const p of problems) process.stderr.write(`supply-chain: ${p}\n`);
  const count = Object.keys(lock.packages ?? {}).length - 1;
  if (problems.length > 0) process.exit(1);
  process.stdout.write(
    `supply-chain: ${count} lockfile entries pass the lockfile and licence policy\n`,
  );
}
