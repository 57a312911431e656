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
  platform: ['access', ...CAPABILITIES, 'app.ts', 'cli.ts', 'main.ts', 'start.ts'],
  access: [...CAPABILITIES, 'app.ts', 'cli.ts', 'main.ts', 'start.ts'],
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

/** One import circle per strongly connected group of files (each listed once, sorted). */
function importCircles(root: string, files: Map<string, string>): string[] {
  const graph = new Map<string, string[]>();
  for (const [file, source] of files) {
    const from = relative(root, file).split(sep).join(posix.sep);
    const targets = importsOf(source)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) =>
        posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, '.ts'),
      );
    graph.set(from, targets);
  }
  // Tarjan's strongly connected components; a component of two or more files is a circle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) ?? 0);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue; // a package or a file outside the set
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    if (group.length > 1) circles.push(group.sort().join(' <-> '));
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return circles.sort();
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

  it('finds an import circle (shop.routes.ts and a sub-module importing its ShopDeps)', () => {
    const root = join(sep, 'repo', 'src');
    const files = new Map([
      [join(root, 'shop', 'shop.routes.ts'), "import { c } from './catalog/catalog.routes.js';"],
      [
        join(root, 'shop', 'catalog', 'catalog.routes.ts'),
        "import type { D } from '../shop.routes.js';",
      ],
      [join(root, 'shop', 'shop.deps.ts'), "import type { Db } from '../platform/db/database.js';"],
    ]);
    expect(importCircles(root, files)).toEqual([
      'shop/catalog/catalog.routes.ts <-> shop/shop.routes.ts',
    ]);
  });

  it('no source file imports itself back through a circle', () => {
    const files = new Map(sourceFiles(SRC).map((file) => [file, readFileSync(file, 'utf8')]));
    expect(importCircles(SRC, files)).toEqual([]);
  });

  it('no platform file imports access or a capability; no access file imports a capability', () => {
    const files = new Map(sourceFiles(SRC).map((file) => [file, readFileSync(file, 'utf8')]));
    expect(files.size).toBeGreaterThan(50);
    expect(layeringViolations(SRC, files)).toEqual([]);
  });
});
