/**
 * The client's types are the live document's: src/schema.d.ts is regenerated in memory from the
 * app's /openapi.json (as scripts/generate.ts writes it) and must equal the committed file.
 */
import { readFileSync } from 'node:fs';
import type { OpenAPI3 } from 'openapi-typescript';
import { beforeAll, expect, it } from 'vitest';
import { liveDocument, SCHEMA_FILE, schemaSource } from '../scripts/generate.js';

let document: OpenAPI3;
// Building the app (PGlite's first start, migrations) can take long on a loaded machine.
beforeAll(async () => {
  document = await liveDocument();
});

it('src/schema.d.ts is what openapi-typescript makes of the live /openapi.json', {
  timeout: 120_000,
}, async () => {
  const fresh = await schemaSource(document);
  const committed = readFileSync(SCHEMA_FILE, 'utf8');
  // On a mismatch: `npm run generate -w @bastion/client`, and commit the file.
  expect(committed === fresh, 'packages/client/src/schema.d.ts is stale').toBe(true);
  expect(fresh).toContain('"/auth/refresh"');
});
