/**
 * The package as it ships: `tsc -p tsconfig.build.json` plus the generated types (what
 * `npm run build` does, into a scratch folder), imported by Node without the `@bastion/source`
 * condition, and type-checked from a consumer's file against the emitted declarations.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// Inside the package, so the emitted files resolve openapi-fetch and tough-cookie as installed.
const out = mkdtempSync(join(PACKAGE, '.build-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('builds, loads in plain Node and type-checks for a consumer', { timeout: 180_000 }, () => {
  const dist = join(out, 'dist');
  execFileSync(process.execPath, [
    tsc,
    '-p',
    join(PACKAGE, 'tsconfig.build.json'),
    '--outDir',
    dist,
    '--incremental',
    'false',
  ]);
  copyFileSync(join(PACKAGE, 'src', 'schema.d.ts'), join(dist, 'schema.d.ts'));

  const loaded = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const c = await import(${JSON.stringify(join(dist, 'index.js'))});
       const n = await import(${JSON.stringify(join(dist, 'node.js'))});
       const client = c.createBastionClient({ baseUrl: 'http://127.0.0.1:1', fetch: n.cookieJarFetch() });
       console.log([typeof client.login, typeof client.api.GET, new c.BastionError(429, { code: 'rate_limited' }).code].join(' '));`,
    ],
    { encoding: 'utf8' },
  );
  expect(loaded.trim()).toBe('function function rate_limited');

  const consumer = join(out, 'consumer.ts');
  writeFileSync(
    consumer,
    `import { createBastionClient, unwrap, type User } from './dist/index.js';
const client = createBastionClient({ baseUrl: 'https://auth.example.com' });
export async function me(): Promise<User> {
  return unwrap(await client.api.GET('/auth/me')).user;
}
// @ts-expect-error: not an API path
void client.api.GET('/no/such/path');
`,
  );
  execFileSync(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2023',
      '--types',
      'node',
      '--skipLibCheck',
      'false',
      consumer,
    ],
    { encoding: 'utf8' },
  );
});
