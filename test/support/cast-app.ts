/**
 * The usual set-up of a test file that acts as several kinds of caller: one app on a manual clock
 * (whole seconds, as JWT times are) and the cast from `createActors`, closed after the file.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Env } from '../../src/config.js';
import { manualClock } from '../../src/platform/clock.js';
import { type Actors, createActors } from './actors.js';
import { createTestApp, type TestContext } from './app.js';
import { SETUP_TIMEOUT_MS } from './mfa.js';
import type { TestDatabase } from './services.js';

export interface CastOptions {
  readonly env?: Env;
  /** Runs once the app and the cast exist (funding wallets, seeding products). */
  readonly setup?: (ctx: TestContext, cast: Actors) => Promise<void>;
  /** Opens the database instead of this run's default one; closed after the file. */
  readonly database?: () => Promise<TestDatabase>;
}

/**
 * Registers beforeAll/afterAll that build the app and the cast and hand them to `ready`; returns
 * the clock the app runs on.
 */
export function useCast(
  ready: (ctx: TestContext, cast: Actors) => void,
  options: CastOptions = {},
): ReturnType<typeof manualClock> {
  const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
  let ctx: TestContext | undefined;
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await options.database?.();
    ctx = await createTestApp({ env: options.env, database, deps: { clock } });
    const cast = await createActors(ctx.app, ctx.database.db, clock);
    await options.setup?.(ctx, cast);
    ready(ctx, cast);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    await database?.close();
  });
  return clock;
}
