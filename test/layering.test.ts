/**
 * DESIGN.md, Layout: dependencies flow one way, capability -> access -> platform. Issue 14
 * ("Structure") found the platform importing the shop's table types and access's
 * `markScopePublic`; this reads the imports of every source file so the rule stays true.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

const CAPABILITIES = ['auth', 'shop', 'users', 'admin', 'web'];

/** What each layer must not import (first path segment under src/). */
const FORBIDDEN: Record<string, readonly string[]> = {
  platform: ['access', ...CAPABILITIES, 'app.ts', 'cli.ts', 'main.ts'],
  access: [...CAPABILITIES, 'app.ts', 'cli.ts', 'main.ts'],
};

/** Every module specifier a file imports or re-exports, static or dynamic. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g;
  for (const match of source.matchAll(pattern)) {
    if (match[1] !== undefined) found.push(match[1]);
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    // Tests may reach across layers to build their world; the rule is about the product.
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** `file imports target` for every import that crosses a layer the wrong way. */
function layeringViolations(root: string, files: Map<string, string>): string[] {
  const violations: string[] = [];
  for (const [file, source] of files) {
    const from = relative(root, file).split(sep).join(posix.sep);
    const forbidden = FORBIDDEN[from.split('/')[0] ?? ''];
    if (forbidden === undefined) continue;
    for (const specifier of importsOf(source)) {
      if (!specifier.startsWith('.')) continue; // a package
      const target = posix.normalize(posix.join(posix.dirname(from), specifier));
      const top = target.split('/')[0] ?? '';
      const topFile = top.replace(/\.js$/, '.ts');
      if (forbidden.includes(top) || forbidden.includes(topFile)) {
        violations.push(`${from} imports ${target}`);
      }
    }
  }
  return violations;
}

describe('layering: capability -> access -> platform (issue 14, structure)', () => {
  it('reads static, dynamic, type-only and re-exported imports', () => {
    const source = [
      "import type { A } from '../../shop/a.js';",
      "import {\n  b,\n  c,\n} from '../auth/b.js';",
      "export { d } from '../users/d.js';",
      "const e = await import('../admin/e.js');",
      "import 'side-effect';",
    ].join('\n');
    expect(importsOf(source)).toEqual([
      '../../shop/a.js',
      '../auth/b.js',
      '../users/d.js',
      '../admin/e.js',
      'side-effect',
    ]);
  });

  it('flags a platform file importing a capability or access, and access importing a capability', () => {
    const root = join(sep, 'repo', 'src');
    const files = new Map([
      [join(root, 'platform', 'db', 'schema.ts'), "import type { T } from '../../shop/t.js';"],
      [join(root, 'platform', 'openapi.ts'), "import { m } from '../access/policy.js';"],
      [join(root, 'access', 'policy.ts'), "import { s } from '../auth/sessions/s.js';"],
      [join(root, 'access', 'ownership.ts'), "import { c } from '../platform/clock.js';"],
      [join(root, 'shop', 'x.ts'), "import { p } from '../access/policy.js';"],
    ]);
    expect(layeringViolations(root, files)).toEqual([
      'platform/db/schema.ts imports shop/t.js',
      'platform/openapi.ts imports access/policy.js',
      'access/policy.ts imports auth/sessions/s.js',
    ]);
  });

  it('no platform file imports access or a capability; no access file imports a capability', () => {
    const files = new Map(sourceFiles(SRC).map((file) => [file, readFileSync(file, 'utf8')]));
    expect(files.size).toBeGreaterThan(50);
    expect(layeringViolations(SRC, files)).toEqual([]);
  });
});
