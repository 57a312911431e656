/**
 * Generates `src/schema.d.ts`, the client's types, from the live app's OpenAPI document: builds a
 * test app (embedded database, in-memory state unless DATABASE_URL / REDIS_URL say otherwise),
 * takes `app.swagger()` and runs openapi-typescript on it. Nothing about the API is written by
 * hand. `npm run generate -w @bastion/client` rewrites the file; test/schema.test.ts fails
 * when the committed one is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript';
import { createTestApp } from '../../../test/support/app.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../src/schema.d.ts', import.meta.url));

/** The OpenAPI document the app serves at /openapi.json. */
export async function liveDocument(): Promise<OpenAPI3> {
  const ctx = await createTestApp();
  try {
    return ctx.app.swagger() as unknown as OpenAPI3;
  } finally {
    await ctx.close();
  }
}

/** The text of `src/schema.d.ts` for `document`. */
export async function schemaSource(document: OpenAPI3): Promise<string> {
  // A copy: openapi-typescript's resolver annotates the object it is given.
  const ast = await openapiTS(structuredClone(document), { silent: true });
  return `${COMMENT_HEADER}${astToString(ast)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const source = await schemaSource(await liveDocument());
  writeFileSync(SCHEMA_FILE, source);
  console.log(`wrote ${SCHEMA_FILE} (${source.length} characters)`);
}
