/**
 * (B) Bastion's real app: `buildApp(loadConfig(env), deps)` with every global hook and plugin,
 * embedded PGlite in a temporary DATA_DIR (migrated, as main.ts does), in-memory shared state,
 * and info-level logs written to /dev/null through the destination main.ts uses for stdout.
 * With BENCH_DATABASE_URL set (the runner's PostgreSQL scenarios), PostgreSQL instead of PGlite.
 * Plus the bench-only routes of lib/bench-routes.ts (a gated no-op route, token minting).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { migrateToLatest } from '../../src/platform/db/database.js';
import { type OpenedDeps, openDeps } from '../../src/platform/deps.js';
import { logDestination } from '../../src/platform/logger.js';
import { BASTION_BENCH_ENV } from '../lib/bastion-env.js';
import { addBenchRoutes } from '../lib/bench-routes.js';
import { announce, onStop } from '../lib/server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'bastion-bench-'));
process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
let deps: OpenedDeps | undefined;
let app: App | undefined;
let stopBench: (() => Promise<void>) | undefined;
onStop(async () => {
  await stopBench?.();
  await app?.close();
  await deps?.close();
});

const databaseUrl = process.env.BENCH_DATABASE_URL;
const config = loadConfig({
  ...BASTION_BENCH_ENV,
  DATA_DIR: dataDir,
  ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
});
deps = await openDeps(config);
await migrateToLatest(deps.database.db);
const logStream = logDestination('/dev/null');
app = await buildApp(config, { db: deps.database.db, state: deps.state, logStream });
stopBench = await addBenchRoutes(app, { config, db: deps.database.db, state: deps.state });
await app.listen({ host: config.host, port: config.port });
announce((app.server.address() as { port: number }).port);
