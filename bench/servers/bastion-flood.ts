/**
 * Bastion for the flood benchmark (bench/flood.ts): the real app with the real argon2id cost,
 * info logs to /dev/null. By default embedded PGlite in the DATA_DIR the parent chose (its dev
 * outbox holds the verification mail) and in-memory shared state; with `--postgres` the parent
 * puts DATABASE_URL and REDIS_URL in the environment, and BASTION_FLOOD_REDIS_PREFIX (not a
 * Bastion setting: Bastion always uses `bastion:`) keeps this run's Redis keys apart from anything
 * else on that server. The whole environment comes from BASTION_FLOOD_ENV (JSON), never from the
 * caller's shell, so a stray DATABASE_URL or REDIS_URL cannot change what is measured.
 */
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { migrateToLatest } from '../../src/platform/db/database.js';
import { openDeps } from '../../src/platform/deps.js';
import { logDestination } from '../../src/platform/logger.js';
import { announce } from '../lib/server.js';

const env = JSON.parse(process.env.BASTION_FLOOD_ENV ?? '{}') as Record<string, string>;
const redisPrefix = process.env.BASTION_FLOOD_REDIS_PREFIX;
const config = loadConfig(env);

const deps = await openDeps(config, undefined, redisPrefix);
// With several instances on one database the parent starts them one after another, so only the
// first one migrates (and creates the signing keys); the others find both done.
await migrateToLatest(deps.database.db);
const logStream = logDestination('/dev/null');
const app = await buildApp(config, { db: deps.database.db, state: deps.state, logStream });
await app.listen({ host: config.host, port: config.port });
announce((app.server.address() as { port: number }).port);

process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => deps.close())
    .finally(() => process.exit(0));
});
