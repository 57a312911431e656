/**
 * `node --import ./test/support/record-imports.mjs ...`: appends the name of every npm package the
 * process loads a module of, one per line, to the file named by BASTION_TEST_IMPORTS_FILE
 * (lazy-imports.test.ts): `import` through a loader hook (it runs in Node's loader thread) and
 * `require` (CommonJS, `createRequire`) by wrapping `Module.prototype.require`, which loader
 * hooks do not see on Node 20.
 */
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const file = process.env.BASTION_TEST_IMPORTS_FILE;
register('./record-imports-hook.mjs', import.meta.url, { data: { file } });

const BARE = /^((?:@[^/]+\/)?[^./][^/:]*)/;
const require = Module.prototype.require;
Module.prototype.require = function recorded(id) {
  const pkg = BARE.exec(id);
  if (file && pkg && !Module.isBuiltin(id)) appendFileSync(file, `${pkg[1]}\n`);
  return require.call(this, id);
};
