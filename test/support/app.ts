/** Builds a real app for a test on this run's database and shared state. */
import { Writable } from 'node:stream';
import { type App, type AppDeps, buildApp } from '../../src/app.js';
import { type Config, type Env, loadConfig } from '../../src/config.js';
import type { SharedState } from '../../src/platform/state/shared-state.js';
import { openTestDatabase, openTestState, type TestDatabase } from './services.js';

export interface TestContext {
  readonly app: App;
  readonly config: Config;
  readonly database: TestDatabase;
  readonly state: SharedState;
  /** Every log line the app wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export const TEST_ENV: Env = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'info',
  PUBLIC_URL: 'http://127.0.0.1:3000',
  DATA_DIR: '/tmp/bastion-test-data',
  // Every test comes from one address: per-IP limits are raised here, and the tests that
  // attack a limit set it back to its real value.
  RATE_LIMIT_GLOBAL_PER_MINUTE: '100000',
  RATE_LIMIT_LOGIN_IP_FAILURES: '100000',
  RATE_LIMIT_REGISTER_PER_HOUR: '100000',
  RATE_LIMIT_FORGOT_PER_HOUR: '100000',
  RATE_LIMIT_TOKEN_PER_HOUR: '100000',
  RATE_LIMIT_REFRESH_PER_MINUTE: '100000',
  RATE_LIMIT_UPLOADS_PER_HOUR: '100000',
  RATE_LIMIT_CONTENT_PER_HOUR: '100000',
  // app.inject() loops keep the event loop 100% busy and starve timers for seconds on a loaded
  // machine, which load shedding rightly reads as overload; its own test turns it back on.
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
  LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0',
  // A fixed test key: the dev key file in DATA_DIR would be shared by parallel test files.
  KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

/** Cheap argon2 for tests; benchmarks measure the real cost. */
export const TEST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/** A Writable that collects pino's JSON lines. */
export function logCollector(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { stream, lines };
}

export interface TestAppOptions {
  readonly env?: Env;
  /** Share a database / state with another app (two instances behind one load balancer). */
  readonly database?: TestDatabase;
  readonly state?: SharedState;
  readonly deps?: Partial<AppDeps>;
  /** Registers test-only routes or hooks on the built app before `ready()`. */
  readonly beforeReady?: (app: App) => void | Promise<void>;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestContext> {
  const config = loadConfig({ ...TEST_ENV, ...options.env });
  const ownDatabase = !options.database;
  const ownState = !options.state;
  const database = options.database ?? (await openTestDatabase());
  const state = options.state ?? (await openTestState());
  const { stream, lines } = logCollector();
  const app = await buildApp(config, {
    db: database.db,
    state,
    logStream: stream,
    argon2: TEST_ARGON2,
    ...options.deps,
  });
  try {
    await options.beforeReady?.(app);
    await app.ready();
  } catch (err) {
    // A build that fails (e.g. a route without an access declaration) must not leak services.
    await app.close().catch(() => {});
    if (ownState) await state.close();
    if (ownDatabase) await database.close();
    throw err;
  }
  return {
    app,
    config,
    database,
    state,
    logs: lines,
    async close() {
      await app.close();
      if (ownState) await state.close();
      if (ownDatabase) await database.close();
    },
  };
}
