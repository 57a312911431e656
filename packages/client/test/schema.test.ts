/**
 * The client's types are the live document's: src/schema.d.ts is regenerated in memory from the
 * app's /openapi.json (as scripts/generate.ts writes it) and must equal the committed file.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { liveDocument, SCHEMA_FILE, schemaSource } from '../scripts/generate.js';

it('src/schema.d.ts is what openapi-typescript makes of the live /openapi.json', async () => {
  const fresh = await schemaSource(await liveDocument());
  const committed = readFileSync(SCHEMA_FILE, 'utf8');
  // On a mismatch: `npm run generate -w @bastion/client`, and commit the file.
  expect(committed === fresh, 'packages/client/src/schema.d.ts is stale').toBe(true);
  expect(fresh).toContain('"/auth/refresh"');
});
