/**
 * Shared state never holds an email address in clear (issue 14, informational): the login
 * throttle, the unauthorized-burst counter and the reset-mail cap key their Redis entries by a
 * keyed hash of the normalized address. On real Redis: after failed logins, a login burst and
 * forgot-password requests, SCAN the test's own prefix: no key names the address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisState } from '../../src/platform/state/redis-state.js';
import type { SharedState } from '../../src/platform/state/shared-state.js';
import { WRONG_PASSWORD } from '../support/abuse.js';
import { accountTestEnv, BUILD_TIMEOUT_MS, post } from '../support/accounts.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { registerAndVerify } from '../support/auth.js';
import { randomPrefix, redisUrl } from '../support/services.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';

const REDIS_URL = await redisUrl(); // throws under CI=true when Redis does not answer

let smtp: TestSmtp;
let state: SharedState;
let ctx: TestContext;
const prefix = randomPrefix();

describe.runIf(REDIS_URL)('attack: reading Redis for email addresses', () => {
  beforeAll(async () => {
    smtp = await startTestSmtp();
    state = await createRedisState(REDIS_URL as string, { prefix });
    ctx = await createTestApp({
      // Bursts raise their event at 3 refusals, so the burst counter is surely written.
      env: { ...accountTestEnv(smtp), SECURITY_BURST_THRESHOLD: '3' },
      state,
    });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    if (state?.redis) {
      const keys = await scanAll();
      if (keys.length > 0) await state.redis.del(...keys);
    }
    await state?.close();
    await smtp?.close();
  });

  async function scanAll(): Promise<string[]> {
    const redis = state.redis;
    if (!redis) throw new Error('not a Redis state');
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }

  it('after failed logins, a refusal burst and forgot requests, no key contains the address', async () => {
    const local = `carol.${Date.now().toString(36)}`;
    const known = await registerAndVerify(ctx.app, smtp, { email: `${local}@example.com` });
    const unknown = `nobody.${Date.now().toString(36)}@example.com`;
    for (const email of [known.email, known.email.toUpperCase(), unknown]) {
      for (let i = 0; i < 3; i++) {
        const res = await post(ctx.app, '/auth/login', { email, password: WRONG_PASSWORD });
        expect(res.statusCode).toBe(401);
      }
      expect((await post(ctx.app, '/auth/password/forgot', { email })).statusCode).toBe(202);
    }
    const keys = await scanAll();
    // The limiters did write (else this test would prove nothing).
    expect(keys.some((k) => k.includes('login-account'))).toBe(true);
    expect(keys.some((k) => k.includes('login-ip-account'))).toBe(true);
    expect(keys.some((k) => k.includes('forgot-mails'))).toBe(true);
    expect(keys.some((k) => k.includes('unauth-burst-account'))).toBe(true);
    const leaking = keys.filter((k) => {
      const lower = k.toLowerCase();
      return lower.includes(local) || lower.includes('nobody.') || lower.includes('@');
    });
    expect(leaking).toEqual([]);
  });
});
