/**
 * The supply-chain gate fires: a package from git, a tarball URL, another host, without an
 * integrity hash or with a weak one, and a production dependency under a licence outside the
 * allowlist are each reported; the committed lockfile passes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Lock,
  licenseAllowed,
  licenseViolations,
  lockfileViolations,
} from '../scripts/supply-chain.mjs';

const ROOT = join(import.meta.dirname, '..');
const SHA512 = `sha512-${Buffer.alloc(64, 1).toString('base64')}`;
const ok = { version: '1.0.0', integrity: SHA512, license: 'MIT' };
const lock = (packages: Lock['packages']): Lock => ({
  lockfileVersion: 3,
  packages: { '': {}, ...packages },
});

describe('supply-chain gate: lockfile policy', () => {
  it('passes the committed lockfile', () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lock;
    expect(lockfileViolations(committed, () => false)).toEqual([]);
    expect(licenseViolations(committed, () => false)).toEqual([]);
  });

  it('refuses git, file and plain-http sources', () => {
    const problems = lockfileViolations(
      lock({
        'node_modules/a': { ...ok, resolved: 'git+ssh://git@example.com/evil/a.git#abc' },
        'node_modules/b': { ...ok, resolved: 'file:../b-1.0.0.tgz' },
        'node_modules/c': { ...ok, resolved: 'http://registry.example/c/-/c-1.0.0.tgz' },
      }),
    );
    expect(problems).toEqual([
      'node_modules/a: resolved from a non-registry source',
      'node_modules/b: resolved from a non-registry source',
      'node_modules/c: resolved from a non-registry source',
    ]);
  });

  it('refuses packages resolved from two hosts', () => {
    const problems = lockfileViolations(
      lock({
        'node_modules/a': { ...ok, resolved: 'https://one.example/a/-/a-1.0.0.tgz' },
        'node_modules/@s/b': { ...ok, resolved: 'https://two.example/@s/b/-/b-1.0.0.tgz' },
      }),
    );
    expect(problems).toEqual(['packages resolve from 2 hosts: want one registry']);
  });

  it('refuses a missing or non-sha512 integrity hash', () => {
    const problems = lockfileViolations(
      lock({
        'node_modules/a': { version: '1.0.0', license: 'MIT' },
        'node_modules/b': { ...ok, integrity: 'sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
      }),
    );
    expect(problems).toEqual([
      'node_modules/a: no integrity hash',
      'node_modules/b: integrity is not sha512',
    ]);
  });

  it('exempts the workspaces’ own folders, not a hashless package under node_modules', () => {
    const problems = lockfileViolations(
      lock({
        'packages/verify': { version: '0.1.0', license: 'Apache-2.0' },
        'node_modules/@bastion/verify': { resolved: 'packages/verify', link: true },
        'node_modules/x': { version: '1.0.0', license: 'MIT' },
        'packages/verify/node_modules/y': { version: '1.0.0', license: 'MIT' },
      }),
    );
    expect(problems).toEqual([
      'node_modules/x: no integrity hash',
      'packages/verify/node_modules/y: no integrity hash',
    ]);
    const licences = licenseViolations(
      lock({
        'examples/notes': { version: '0.0.0' },
        'examples/notes/node_modules/z': { ...ok, license: undefined },
      }),
    );
    expect(licences).toEqual(['examples/notes/node_modules/z: no licence declared']);
  });

  it('tolerates a hashless optional binary for another platform, not an installed one', () => {
    const entries = lock({
      'node_modules/x-darwin': { version: '1.0.0', optional: true, os: ['darwin'] },
    });
    expect(lockfileViolations(entries, () => false)).toEqual([]);
    expect(lockfileViolations(entries, () => true)).toEqual([
      'node_modules/x-darwin: no integrity hash',
    ]);
  });
});

describe('supply-chain gate: licences of production dependencies', () => {
  it('refuses a licence outside the allowlist, or none, in production only', () => {
    const problems = licenseViolations(
      lock({
        'node_modules/gpl': { ...ok, license: 'GPL-3.0-only' },
        'node_modules/agpl-and-mit': { ...ok, license: 'AGPL-3.0-or-later AND MIT' },
        'node_modules/none': { version: '1.0.0', integrity: SHA512 },
        'node_modules/dev-gpl': { ...ok, license: 'GPL-3.0-only', dev: true },
        'node_modules/fine': ok,
      }),
    );
    expect(problems).toEqual([
      'node_modules/gpl: licence GPL-3.0-only is not allowed',
      'node_modules/agpl-and-mit: licence AGPL-3.0-or-later AND MIT is not allowed',
      'node_modules/none: no licence declared',
    ]);
  });

  it('reads SPDX expressions: every AND term, one OR side', () => {
    expect(licenseAllowed('MIT')).toBe(true);
    expect(licenseAllowed('(MIT OR GPL-3.0-only)')).toBe(true);
    expect(licenseAllowed('Apache-2.0 AND LGPL-3.0-or-later AND MIT')).toBe(true);
    expect(licenseAllowed('MIT AND GPL-2.0-only')).toBe(false);
    expect(licenseAllowed('SSPL-1.0')).toBe(false);
    expect(licenseAllowed('')).toBe(false);
  });
});
