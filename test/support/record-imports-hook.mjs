/** The resolve hook of record-imports.mjs: records `pkg` or `@scope/pkg` of each node_modules URL. */
import { appendFileSync } from 'node:fs';

let file;

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(resolved.url);
  if (file && pkg) appendFileSync(file, `${pkg[1]}\n`);
  return resolved;
}
