/** Opens the real dependencies a config names: database, shared state. */
import type { Config } from '../config.js';
import { type DatabaseHandle, openDatabase } from './db/database.js';
import { createMemoryState } from './state/memory-state.js';
import type { SharedState } from './state/shared-state.js';

export interface OpenedDeps {
  readonly database: DatabaseHandle;
  readonly state: SharedState;
  close(): Promise<void>;
}

export async function openDeps(
  config: Config,
  onRedisError?: (err: Error) => void,
  /** Redis key prefix (default `bastion:`): lets a benchmark keep its keys apart. */
  redisPrefix?: string,
): Promise<OpenedDeps> {
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  let state: SharedState;
  try {
    // ioredis is loaded only when Redis is configured (issue 17: start time).
    state = config.redisUrl
      ? await (await import('./state/redis-state.js')).createRedisState(config.redisUrl, {
          onError: onRedisError,
          ...(redisPrefix ? { prefix: redisPrefix } : {}),
        })
      : createMemoryState();
  } catch (err) {
    await database.close();
    throw err;
  }
  return {
    database,
    state,
    async close() {
      await Promise.allSettled([state.close(), database.close()]);
    },
  };
}
