#!/usr/bin/env node
// The CLI. Runs the compiled JavaScript when dist/ holds a current build (production, the image);
// in a checkout with newer sources it runs the TypeScript through tsx (a dev dependency) instead.
import module from 'node:module';

// Compiled code cached on disk across runs (Node 22.1+; see src/main.ts).
module.enableCompileCache?.();
const { distIsCurrent } = await import('../scripts/dist.mjs');

if (distIsCurrent()) {
  await import('../dist/src/cli.js');
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'bastion: dist/ is missing or older than src/, and tsx is not installed: run `npm run build`\n',
    );
    process.exit(1);
  }
  register();
  await import('../src/cli.ts');
}
