/**
 * Attacks on the revocation feed (issue 18): it tells who logged out when, so only a configured
 * service token opens it. No token, a wrong one, a prefix or an extension of a real one, a user's
 * access token, any token while SERVICE_TOKENS is unset: 401, alike. A service cannot hold more
 * than its share of open streams.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, type LoggedIn, signUp } from '../../../test/support/auth.js';
import {
  listenOnce,
  openFeedStream,
  SERVICE_ENV,
  SERVICE_TOKEN_A,
  SERVICE_TOKEN_B,
  type SseReader,
} from '../../../test/support/revocation-feed.js';
import {
  openTestDatabase,
  openTestState,
  type TestDatabase,
} from '../../../test/support/services.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { SETUP_TIMEOUT_MS } from '../../../test/support/tokens.js';
import type { SharedState } from '../../platform/state/shared-state.js';
import { STREAMS_PER_TOKEN } from './feed.routes.js';

let smtp: TestSmtp;
let database: TestDatabase;
let state: SharedState;
let ctx: TestContext;
let user: LoggedIn;

beforeAll(async () => {
  smtp = await startTestSmtp();
  database = await openTestDatabase();
  state = await openTestState();
  ctx = await createTestApp({ database, state, env: { SMTP_URL: smtp.url, ...SERVICE_ENV } });
  user = await signUp(ctx.app, smtp);
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await state?.close();
  await database?.close();
  await smtp?.close();
});

function feed(app: TestContext['app'], headers: Record<string, string>, accept?: string) {
  return app.inject({
    method: 'GET',
    url: '/auth/revocations',
    headers: accept ? { ...headers, accept } : headers,
  });
}

function expectRefused(res: Awaited<ReturnType<typeof feed>>) {
  expect(res.statusCode, res.body).toBe(401);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json().code).toBe('unauthorized');
  expect(res.headers['www-authenticate']).toBe('Bearer');
  expect(res.body).not.toContain('items');
}

describe('attack: reading the revocation feed without a service token', () => {
  const wrong: Record<string, Record<string, string>> = {
    'no Authorization header': {},
    'an empty bearer': { authorization: 'Bearer ' },
    'a wrong token of the same length': bearer(`svc-a-${'x'.repeat(40)}`),
    'a prefix of a real token': bearer(SERVICE_TOKEN_A.slice(0, -1)),
    'a real token with a character more': bearer(`${SERVICE_TOKEN_A}k`),
    'both tokens joined': bearer(SERVICE_TOKEN_A + SERVICE_TOKEN_B),
    'the token without the Bearer scheme': { authorization: SERVICE_TOKEN_A },
    'the token as Basic credentials': { authorization: `Basic ${SERVICE_TOKEN_A}` },
    'the list of tokens as configured': bearer(SERVICE_ENV.SERVICE_TOKENS),
  };
  for (const [name, headers] of Object.entries(wrong)) {
    it(`${name}: 401, as a page and as a stream`, async () => {
      expectRefused(await feed(ctx.app, headers));
      expectRefused(await feed(ctx.app, headers, 'text/event-stream'));
    });
  }

  it("a user's (valid) access token: 401", async () => {
    expect(
      (await ctx.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(user.accessToken) }))
        .statusCode,
    ).toBe(200);
    expectRefused(await feed(ctx.app, bearer(user.accessToken)));
    expectRefused(await feed(ctx.app, bearer(user.accessToken), 'text/event-stream'));
  });

  it('with SERVICE_TOKENS unset, every request is 401 (even a token another deployment accepts)', async () => {
    const off = await createTestApp({ database, state, env: { SMTP_URL: smtp.url } });
    try {
      expect(off.config.serviceTokens).toEqual([]);
      expectRefused(await feed(off.app, bearer(SERVICE_TOKEN_A)));
      expectRefused(await feed(off.app, {}));
      expectRefused(await feed(off.app, bearer(user.accessToken), 'text/event-stream'));
    } finally {
      await off.close();
    }
    // The control: the same token opens the feed where it is configured.
    expect((await feed(ctx.app, bearer(SERVICE_TOKEN_A))).statusCode).toBe(200);
  });
});

describe('attack: holding open more streams than a service needs', () => {
  it(`a token gets ${STREAMS_PER_TOKEN} streams, the next is 429; another token and a freed slot still work`, async () => {
    const base = await listenOnce(ctx.app);
    const held: SseReader[] = [];
    try {
      for (let i = 0; i < STREAMS_PER_TOKEN; i++) {
        const s = await openFeedStream(base, SERVICE_TOKEN_A);
        held.push(s);
        expect(s.status).toBe(200);
      }
      const refused = await openFeedStream(base, SERVICE_TOKEN_A);
      held.push(refused);
      expect(refused.status).toBe(429);
      // Pages are not streams: the capped token still reads them.
      expect((await feed(ctx.app, bearer(SERVICE_TOKEN_A))).statusCode).toBe(200);
      // The cap is per token: another service is not starved by this one.
      const other = await openFeedStream(base, SERVICE_TOKEN_B);
      held.push(other);
      expect(other.status).toBe(200);
      // A stream the client drops frees its slot (the server sees the close shortly after).
      held[0]?.close();
      await vi.waitFor(
        async () => {
          const again = await openFeedStream(base, SERVICE_TOKEN_A);
          held.push(again);
          expect(again.status).toBe(200);
        },
        { timeout: 2000, interval: 20 },
      );
    } finally {
      for (const s of held) s.close();
    }
  });
});
