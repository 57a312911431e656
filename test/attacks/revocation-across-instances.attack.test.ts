/**
 * A session ended on one instance is dead on every instance within a second (issue 4; checklist
 * SESS-07, SESS-08). Two instances share the database and the shared state (Redis when REDIS_URL
 * is set, else one memory state), as behind a load balancer; each keeps an in-process set of
 * revoked sessions, so a stale instance would keep accepting the token for up to 15 minutes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { SharedState } from '../../src/platform/state/shared-state.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { bearer, type LoggedIn, login, registerAndVerify, signUp } from '../support/auth.js';
import { openTestDatabase, openTestState, type TestDatabase } from '../support/services.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';
import { codeOf, me, SETUP_TIMEOUT_MS } from '../support/tokens.js';

const REVOCATION_BOUND_MS = 1000;
const POLL_MS = 50;

let smtp: TestSmtp;
let database: TestDatabase;
let state: SharedState;
let a: TestContext;
let b: TestContext;

const env = () => ({ SMTP_URL: smtp.url });

beforeAll(async () => {
  smtp = await startTestSmtp();
  database = await openTestDatabase();
  state = await openTestState();
  a = await createTestApp({ database, state, env: env() });
  b = await createTestApp({ database, state, env: env() });
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await a?.close();
  await b?.close();
  await state?.close();
  await database?.close();
  await smtp?.close();
});

/**
 * Asks `app` every 50 ms whether it still accepts `token`; true once it answers 401 within the
 * bound. Any answer but 200 (still accepted) or 401 fails the test.
 */
async function refusedWithinBound(app: App, token: string): Promise<boolean> {
  const deadline = performance.now() + REVOCATION_BOUND_MS;
  for (;;) {
    const res = await me(app, token);
    if (res.statusCode === 401) {
      expect(codeOf(res)).toBe('unauthorized');
      return true;
    }
    expect(res.statusCode).toBe(200);
    if (performance.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

/** B accepts the token first, so it is in B's verified-token cache when the session ends. */
async function expectAcceptedBy(app: App, session: LoggedIn) {
  expect((await me(app, session.accessToken)).statusCode).toBe(200);
}

describe('attack: using a session ended on another instance', () => {
  it('after a logout on A, B refuses the access token within 1 s', async () => {
    const session = await signUp(a.app, smtp);
    await expectAcceptedBy(b.app, session);
    const out = await a.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer(session.accessToken),
    });
    expect(out.statusCode).toBe(204);
    expect(await refusedWithinBound(b.app, session.accessToken)).toBe(true);
  });

  it('after a logout-all on A, B refuses every session of the user within 1 s, and no one else', async () => {
    const { email, password } = await registerAndVerify(a.app, smtp);
    const onA = await login(a.app, email, password);
    const onB = await login(b.app, email, password);
    const bystander = await signUp(b.app, smtp);
    for (const s of [onA, onB, bystander]) await expectAcceptedBy(b.app, s);

    const out = await a.app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(onA.accessToken),
    });
    expect(out.statusCode).toBe(204);
    const [first, second] = await Promise.all([
      refusedWithinBound(b.app, onA.accessToken),
      refusedWithinBound(b.app, onB.accessToken),
    ]);
    expect({ first, second }).toEqual({ first: true, second: true });
    expect((await me(b.app, bystander.accessToken)).statusCode).toBe(200);
  });

  it('after a session is revoked from the sessions list on A, B refuses it within 1 s', async () => {
    const { email, password } = await registerAndVerify(a.app, smtp);
    const laptop = await login(a.app, email, password);
    const lost = await login(b.app, email, password);
    await expectAcceptedBy(b.app, lost);
    const res = await a.app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${decodeJwt(lost.accessToken).sid}`,
      headers: bearer(laptop.accessToken),
    });
    expect(res.statusCode).toBe(204);
    expect(await refusedWithinBound(b.app, lost.accessToken)).toBe(true);
  });

  it('an instance started after the revocations refuses those tokens too (loaded from the database)', async () => {
    // Its own revocations on A, one of each kind: it must not rely on the tests before it.
    const loggedOut = await signUp(a.app, smtp);
    const logout = await a.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer(loggedOut.accessToken),
    });
    expect(logout.statusCode).toBe(204);
    const user = await registerAndVerify(a.app, smtp);
    const one = await login(a.app, user.email, user.password);
    const two = await login(a.app, user.email, user.password);
    const all = await a.app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(one.accessToken),
    });
    expect(all.statusCode).toBe(204);
    const owner = await registerAndVerify(a.app, smtp);
    const laptop = await login(a.app, owner.email, owner.password);
    const lost = await login(a.app, owner.email, owner.password);
    const removed = await a.app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${decodeJwt(lost.accessToken).sid}`,
      headers: bearer(laptop.accessToken),
    });
    expect(removed.statusCode).toBe(204);
    const revoked: LoggedIn[] = [loggedOut, one, two, lost];
    const live = await signUp(a.app, smtp);
    // A fresh shared state: the restarted instance can learn the revocations only from the database.
    const freshState = await openTestState();
    const restarted = await createTestApp({ database, state: freshState, env: env() });
    try {
      for (const session of revoked) {
        const res = await me(restarted.app, session.accessToken);
        expect(res.statusCode).toBe(401);
        expect(codeOf(res)).toBe('unauthorized');
      }
      expect((await me(restarted.app, live.accessToken)).statusCode).toBe(200);
    } finally {
      await restarted.close();
      await freshState.close();
    }
  });
});
