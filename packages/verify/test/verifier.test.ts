/**
 * `createVerifier` against a real, listening Bastion (issue 18): discovery is trusted only for
 * its issuer; the revocation feed is followed across a dropped stream (reconnect with
 * `Last-Event-ID`), fails closed when it cannot be followed, and forgets a revocation at its
 * `until`.
 */
import { createVerifier, type Verifier, VerifyError } from '@bastion/verify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { splitJwt } from '../../../test/support/tokens.js';
import { RevocationFeed } from '../src/revocations.js';
import { AUDIENCE, type Bastion, SERVICE_TOKEN, startBastion } from './bastion.js';

let bastion: Bastion;
const verifiers: Verifier[] = [];

beforeAll(async () => {
  bastion = await startBastion();
}, 180_000);
afterEach(() => {
  for (const v of verifiers.splice(0)) v.close();
});
afterAll(async () => {
  await bastion?.close();
});

function verifier(options: Partial<Parameters<typeof createVerifier>[0]> = {}): Verifier {
  const v = createVerifier({ issuer: bastion.url, audience: AUDIENCE, ...options });
  verifiers.push(v);
  return v;
}

/** The code the verifier refuses the token with, or 'accepted'. */
async function outcome(v: Verifier, token: string): Promise<string> {
  try {
    await v.verify(token);
    return 'accepted';
  } catch (err) {
    if (err instanceof VerifyError) return err.code;
    throw err;
  }
}

/** Polls until the outcome is `want` or the deadline passes; returns the last outcome. */
async function eventually(v: Verifier, token: string, want: string, ms: number) {
  const deadline = Date.now() + ms;
  let last = await outcome(v, token);
  while (last !== want && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    last = await outcome(v, token);
  }
  return last;
}

const sidOf = (token: string) => splitJwt(token).payload.sid as string;

describe('discovery', () => {
  it('trusts a discovery document only for the configured issuer; unreachable is 503', async () => {
    const { accessToken } = await bastion.newUser();
    expect(await outcome(verifier(), accessToken)).toBe('accepted');
    // Bastion's real document, read for a service that expects another issuer.
    const misled = verifier({
      issuer: 'https://auth.attacker.test',
      discoveryUrl: `${bastion.url}/.well-known/openid-configuration`,
    });
    await expect(misled.verify(accessToken)).rejects.toMatchObject({
      code: 'bastion_unavailable',
      statusCode: 503,
    });
    const down = verifier({ issuer: 'http://127.0.0.1:1' });
    expect(await outcome(down, accessToken)).toBe('bastion_unavailable');
  });

  it('refuses what is not a JWT before any work: garbage, an oversized token, a missing header', async () => {
    const v = verifier();
    expect(await outcome(v, 'not-a-jwt')).toBe('token_malformed');
    expect(await outcome(v, `${'a'.repeat(9000)}.b.c`)).toBe('token_malformed');
    await expect(v.verifyAuthorization(undefined)).rejects.toMatchObject({ code: 'token_missing' });
    await expect(v.verifyAuthorization('Basic abc')).rejects.toMatchObject({
      code: 'token_missing',
    });
  });
});

describe('revocation feed', () => {
  it('fails closed when Bastion refuses the service token', async () => {
    const { accessToken } = await bastion.newUser();
    const v = verifier({
      revocations: { serviceToken: 'not-a-service-token', startupTimeoutMs: 300 },
    });
    await expect(v.verify(accessToken)).rejects.toMatchObject({
      code: 'revocations_unavailable',
      statusCode: 503,
    });
  });

  it('reconnects after a dropped stream with Last-Event-ID and learns what was revoked meanwhile', async () => {
    const v = verifier({
      revocations: { serviceToken: SERVICE_TOKEN, minBackoffMs: 50, maxBackoffMs: 200 },
    });
    await v.ready();
    const first = await bastion.newUser('first');
    await bastion.logout(first.accessToken);
    expect(await eventually(v, first.accessToken, 'token_revoked', 2000)).toBe('token_revoked');

    const second = await bastion.newUser('second');
    expect(await outcome(v, second.accessToken)).toBe('accepted');
    const dropAt = bastion.requests.length;
    bastion.ctx.app.server.closeAllConnections();
    await bastion.logout(second.accessToken);
    expect(await eventually(v, second.accessToken, 'token_revoked', 5000)).toBe('token_revoked');
    const reconnects = bastion.requests
      .slice(dropAt)
      .filter((r) => r.url.startsWith('/auth/revocations'));
    expect(reconnects.length).toBeGreaterThan(0);
    expect(reconnects[0]?.lastEventId).toMatch(/\S/);
    // The first revocation is still known after the reconnect.
    expect(await outcome(v, first.accessToken)).toBe('token_revoked');
  });

  it('refuses every token with 503 once the feed has been unreachable longer than maxStalenessMs', async () => {
    const v = verifier({
      revocations: { serviceToken: SERVICE_TOKEN, maxStalenessMs: 100, minBackoffMs: 20_000 },
    });
    const { accessToken } = await bastion.newUser();
    expect(await outcome(v, accessToken)).toBe('accepted');
    bastion.ctx.app.server.closeAllConnections();
    expect(await eventually(v, accessToken, 'revocations_unavailable', 3000)).toBe(
      'revocations_unavailable',
    );
  });

  it('keeps a revoked session until its until, then forgets it', async () => {
    let now = Date.now();
    const feed = new RevocationFeed({
      url: `${bastion.url}/auth/revocations`,
      serviceToken: SERVICE_TOKEN,
      userAgent: 'test',
      now: () => now,
    });
    try {
      await feed.ready;
      const user = await bastion.newUser('short');
      const sid = sidOf(user.accessToken);
      await bastion.logout(user.accessToken);
      const deadline = Date.now() + 2000;
      while (!feed.isRevoked(sid) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(feed.isRevoked(sid)).toBe(true);
      const page = await bastion.ctx.app.inject({
        method: 'GET',
        url: '/auth/revocations?limit=500',
        headers: { authorization: `Bearer ${SERVICE_TOKEN}` },
      });
      const item = (page.json() as { items: { sessionId: string; until: string }[] }).items.find(
        (i) => i.sessionId === sid,
      );
      if (!item) throw new Error('the logout is on the feed');
      now = Date.parse(item.until) - 1;
      expect(feed.isRevoked(sid)).toBe(true);
      now = Date.parse(item.until);
      expect(feed.isRevoked(sid)).toBe(false);
    } finally {
      feed.close();
    }
  });
});
