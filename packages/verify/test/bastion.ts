/**
 * A real Bastion for the kit's tests, listening on a loopback port that is also its PUBLIC_URL
 * (the tokens' issuer, the discovery document's `jwks_uri` and revocation feed), with service
 * tokens, two audiences, and a second instance on the same database, keys and shared state that
 * mints tokens for another audience. Its clock runs `CLOCK_LAG_MS` behind real time, so a key
 * rotation can move it past the publish lead while the tokens it signed stay valid for the
 * resource server, which runs on real time. Every request that reaches it over the network (not
 * the tests' own `inject` calls) is counted: those are the resource server's.
 */
import { createServer } from 'node:net';
import {
  createSigningKey,
  DEFAULT_PUBLISH_LEAD_SECONDS,
  KEYS_CHANGED_CHANNEL,
} from '../../../src/auth/keys/keyring.js';
import { manualClock } from '../../../src/platform/clock.js';
import { createActor, createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, STRONG_PASSWORD } from '../../../test/support/auth.js';
import { SERVICE_ENV, SERVICE_TOKEN_A } from '../../../test/support/revocation-feed.js';

export const AUDIENCE = 'https://notes.example.test';
export const OTHER_AUDIENCE = 'https://billing.example.test';
export const SERVICE_TOKEN = SERVICE_TOKEN_A;
/**
 * More than the publish lead (6 min) plus the TOTP steps admins' logins take, less than an
 * access token's life (15 min).
 */
export const CLOCK_LAG_MS = 8 * 60_000;
export const PUBLISH_LEAD_MS = DEFAULT_PUBLISH_LEAD_SECONDS * 1000;

export interface NetworkRequest {
  readonly method: string;
  readonly url: string;
  readonly userAgent: string | undefined;
  readonly lastEventId: string | undefined;
}

export interface Bastion {
  readonly ctx: TestContext;
  /** Same database, state and keys, `JWT_AUDIENCE` = OTHER_AUDIENCE only. */
  readonly other: TestContext;
  /** `http://127.0.0.1:<port>`: PUBLIC_URL, issuer, where it listens. */
  readonly url: string;
  readonly clock: ReturnType<typeof manualClock>;
  /** Requests that arrived over the network (light-my-request's are not counted). */
  readonly requests: NetworkRequest[];
  newUser(prefix?: string): Promise<{ userId: string; accessToken: string }>;
  newAdmin(): Promise<{ userId: string; accessToken: string; email: string }>;
  tokenFor(app: TestContext, userId: string): Promise<string>;
  logout(accessToken: string): Promise<void>;
  /** `bastion keys rotate`: a key published now that signs after the lead; returns its kid. */
  rotateKeys(): Promise<string>;
  close(): Promise<void>;
}

/** A free loopback port (bound then released: PUBLIC_URL must be known before the app builds). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startBastion(): Promise<Bastion> {
  const clock = manualClock(Math.floor((Date.now() - CLOCK_LAG_MS) / 1000) * 1000);
  const requests: NetworkRequest[] = [];
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...SERVICE_ENV,
    PUBLIC_URL: url,
    JWT_AUDIENCE: `${AUDIENCE},https://shop.example.test`,
  };
  const ctx = await createTestApp({
    env,
    deps: { clock },
    beforeReady(app) {
      app.addHook('onRequest', (request, _reply, done) => {
        const userAgent = request.headers['user-agent'];
        if (userAgent !== 'lightMyRequest') {
          const lastEventId = request.headers['last-event-id'];
          requests.push({
            method: request.method,
            url: request.url,
            userAgent,
            lastEventId: typeof lastEventId === 'string' ? lastEventId : undefined,
          });
        }
        done();
      });
    },
  });
  const other = await createTestApp({
    env: { ...env, JWT_AUDIENCE: OTHER_AUDIENCE },
    deps: { clock },
    database: ctx.database,
    state: ctx.state,
  });
  await ctx.app.listen({ port, host: '127.0.0.1' });

  const login = async (app: TestContext, userId: string) => {
    // A second session of a user the main instance created: through the other instance's login.
    const row = await app.database.db
      .selectFrom('users')
      .select('email')
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    const res = await app.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: row.email, password: STRONG_PASSWORD },
    });
    if (res.statusCode !== 200) throw new Error(`login: ${res.statusCode} ${res.body}`);
    return (res.json() as { accessToken: string }).accessToken;
  };

  return {
    ctx,
    other,
    url,
    clock,
    requests,
    async newUser(prefix = 'reader') {
      const actor = await createActor(ctx.app, ctx.database.db, { prefix });
      return { userId: actor.userId, accessToken: actor.accessToken };
    },
    async newAdmin() {
      const admin = await createAdmin(ctx.app, ctx.database.db, clock);
      return { userId: admin.userId, accessToken: admin.accessToken, email: admin.email };
    },
    tokenFor: login,
    async logout(accessToken) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/auth/logout',
        headers: bearer(accessToken),
      });
      if (res.statusCode !== 204) throw new Error(`logout: ${res.statusCode} ${res.body}`);
    },
    async rotateKeys() {
      const masterKey = ctx.config.keyEncryptionKey;
      if (!masterKey) throw new Error('the test config sets KEY_ENCRYPTION_KEY');
      const kid = await createSigningKey(
        ctx.database.db,
        masterKey,
        ctx.config.jwt.alg,
        new Date(clock.now() + PUBLISH_LEAD_MS),
        ctx.config.jwt.accessTokenTtlSeconds + ctx.config.jwt.clockToleranceSeconds,
      );
      await ctx.state.publish(KEYS_CHANGED_CHANNEL, kid);
      return kid;
    },
    async close() {
      await other.close();
      await ctx.close();
    },
  };
}
