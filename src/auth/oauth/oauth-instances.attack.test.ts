/**
 * Two instances behind one load balancer, one PostgreSQL database and one Redis (issue 16): a
 * sign-in started on A completes on B (the flow lives in the sealed cookie, not in a process),
 * and the callback replayed on A is refused (the single-use mark lives in Redis).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { uniqueEmail } from '../../../test/support/auth.js';
import {
  openPostgresTestDatabase,
  postgresAdminUrl,
  randomPrefix,
  redisUrl,
  type TestDatabase,
} from '../../../test/support/services.js';
import { Browser, startIdp } from '../../../test/support/social.js';
import {
  clientFor,
  expectRefused,
  expectSignedIn,
  identitiesOf,
  PUBLIC,
  providerEnv,
  toCallback,
} from '../../../test/support/social-app.js';
import { createRedisState } from '../../platform/state/redis-state.js';
import type { SharedState } from '../../platform/state/shared-state.js';

// Under CI=true an unreachable PostgreSQL or Redis fails here instead of skipping.
const PG = await postgresAdminUrl();
const REDIS = await redisUrl();

describe.skipIf(!PG || !REDIS)('social login across two instances (issue 16)', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let database: TestDatabase;
  let stateA: SharedState;
  let stateB: SharedState;
  let a: TestContext;
  let b: TestContext;

  beforeAll(async () => {
    idp = await startIdp(clientFor('idp'));
    database = await openPostgresTestDatabase(PG as string);
    const prefix = randomPrefix();
    stateA = await createRedisState(REDIS as string, { prefix });
    stateB = await createRedisState(REDIS as string, { prefix });
    const env = providerEnv('idp', idp.issuer);
    a = await createTestApp({ database, state: stateA, env });
    b = await createTestApp({ database, state: stateB, env });
  }, 180_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await stateA?.close();
    await stateB?.close();
    await database?.close();
    await idp?.close();
  });

  it('starts on A, completes on B; the same callback replayed on A is refused', async () => {
    let instance: TestContext | undefined;
    const browser = new Browser((url) => (url.origin === PUBLIC ? instance?.app : undefined));
    const person = {
      sub: `sub-${randomBytes(6).toString('hex')}`,
      email: uniqueEmail('two'),
      email_verified: true,
    };
    idp.as(person);
    instance = a;
    const callback = await toCallback(browser, 'idp');
    const cookie = browser.cookie(PUBLIC, 'bastion_oauth');
    instance = b;
    expectSignedIn(await browser.get(callback));
    expect(await identitiesOf(database.db, person.sub)).toHaveLength(1);

    instance = a;
    const replay = new Browser((url) => (url.origin === PUBLIC ? a.app : undefined));
    replay.setCookie(PUBLIC, 'bastion_oauth', cookie);
    expectRefused(await replay.get(callback), 'oauth_state_invalid');
  });
});
