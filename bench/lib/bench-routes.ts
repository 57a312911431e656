/**
 * Bench-only routes on the Bastion child (issue 4), registered after `buildApp` and before
 * `listen`, the way test/support/app.ts's `beforeReady` adds test-only routes. Never in src/:
 *   GET  /bench/gated  behind the token gate (`access: 'authenticated'`) and nothing else: the
 *                      same zod-serialized `{status:'ok'}` body as /health/live, so the
 *                      difference between the two scenarios is the gate alone.
 *   POST /bench/mint   `{count}` -> `{userId, tokens}`: access tokens minted in-process for one
 *                      bench user (inserted once, verified), each with its own `jti`, signed
 *                      with the app's current key (a second KeyRing over the same database and
 *                      key-encryption key). Thousands per second, where logins would cost an
 *                      argon2 hash each.
 */
import { randomUUID } from 'node:crypto';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { App } from '../../src/app.js';
import { KeyRing } from '../../src/auth/keys/keyring.js';
import { Revocations } from '../../src/auth/sessions/revocations.js';
import { AccessTokens } from '../../src/auth/tokens/access-tokens.js';
import type { Config } from '../../src/config.js';
import { systemClock } from '../../src/platform/clock.js';
import type { Db } from '../../src/platform/db/database.js';
import { loadMasterKey } from '../../src/platform/master-key.js';
import type { SharedState } from '../../src/platform/state/shared-state.js';

const Status = z.object({ status: z.enum(['ok', 'unavailable']) });
const MintBody = z.object({ count: z.number().int().min(1).max(100_000) });
const Minted = z.object({ userId: z.string(), tokens: z.array(z.string()) });

export interface BenchRouteDeps {
  readonly config: Config;
  readonly db: Db;
  readonly state: SharedState;
}

async function benchUser(db: Db): Promise<string> {
  const now = new Date();
  const id = randomUUID();
  await db
    .insertInto('users')
    .values({
      id,
      email: `bench-${id}@bench.invalid`,
      email_key: `bench-${id}@bench.invalid`,
      display_name: 'Bench User',
      password_hash: null,
      roles: [],
      email_verified_at: now,
      avatar_url: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

/** Adds the bench routes; returns a function that stops the extra key ring. */
export async function addBenchRoutes(app: App, deps: BenchRouteDeps): Promise<() => Promise<void>> {
  const { config, db, state } = deps;
  const overlap = config.jwt.accessTokenTtlSeconds + config.jwt.clockToleranceSeconds;
  const ring = new KeyRing({
    db,
    state,
    clock: systemClock,
    masterKey: loadMasterKey(config, app.log),
    alg: config.jwt.alg,
    rotationDays: config.jwt.rotationDays,
    verifyOverlapSeconds: overlap,
    log: app.log,
  });
  await ring.start();
  // Issuing never consults revocations; the instance only satisfies the constructor.
  const revocations = new Revocations(state, db, systemClock, overlap * 1000);
  const tokens = new AccessTokens(ring, config.jwt, systemClock, revocations);
  let userId: string | undefined;

  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/bench/gated',
    { config: { access: 'authenticated' }, schema: { response: { 200: Status } } },
    async () => ({ status: 'ok' as const }),
  );
  r.post(
    '/bench/mint',
    { config: { access: 'public' }, schema: { body: MintBody, response: { 200: Minted } } },
    async (request) => {
      userId ??= await benchUser(db);
      const sessionId = randomUUID();
      const authTime = Math.floor(Date.now() / 1000);
      const minted: string[] = [];
      for (let i = 0; i < request.body.count; i++) {
        minted.push(await tokens.issue({ userId, sessionId, roles: [], authTime, mfa: false }));
      }
      return { userId, tokens: minted };
    },
  );
  return () => ring.stop();
}
