/**
 * The production command's node arguments, read from `npm start` in package.json
 * (`exec node <args>`), so the start-up and memory benches run exactly what users run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
  scripts: { start: string };
};
const start = /^exec node (.+)$/.exec(pkg.scripts.start);
if (!start?.[1]) throw new Error(`npm start is not "exec node ...": ${pkg.scripts.start}`);

/** E.g. `['--enable-source-maps', '--max-semi-space-size=16', '--liftoff-only', 'dist/src/main.js']`. */
export const PRODUCTION_NODE_ARGS: readonly string[] = start[1].split(/\s+/);

/** The same without the entry: the node flags production runs with. */
export const PRODUCTION_NODE_FLAGS: readonly string[] = PRODUCTION_NODE_ARGS.filter((a) =>
  a.startsWith('--'),
);
