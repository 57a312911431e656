/**
 * The server: config, dependencies, migrations, build, listen, graceful shutdown (entered through
 * main.ts, which turns on the compile cache first).
 */
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { DataDirInUseError } from './platform/db/data-dir-lock.js';
import { migrateToLatest } from './platform/db/database.js';
import { openDeps } from './platform/deps.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const deps = await openDeps(config);
  await migrateToLatest(deps.database.db);
  const app = await buildApp(config, { db: deps.database.db, state: deps.state });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    // Bounded: a stuck request cannot hold the process forever.
    const force = setTimeout(() => {
      app.log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    app
      .close()
      .then(() => deps.close())
      .then(() => {
        app.log.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof DataDirInUseError) {
    process.stderr.write(`bastion: ${err.message}\n`);
  } else {
    process.stderr.write(`bastion: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
