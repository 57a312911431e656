/**
 * Another service trusts Bastion's access tokens with nothing but the JWKS URL (issue 4;
 * checklist TOK-08): a resource server made of jose's `createRemoteJWKSet` and `jwtVerify`,
 * talking to a listening Bastion over HTTP, before, during and after a key rotation.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createSigningKey,
  DEFAULT_PUBLISH_LEAD_SECONDS,
  KEYS_CHANGED_CHANNEL,
} from '../../src/auth/keys/keyring.js';
import { manualClock } from '../../src/platform/clock.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { login, registerAndVerify } from '../support/auth.js';
import { startTestSmtp, type TestSmtp } from '../support/smtp.js';
import { MINUTE, me, SETUP_TIMEOUT_MS } from '../support/tokens.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const JWKS_PATH = '/.well-known/jwks.json';

/** A listening Bastion, with the JWKS requests that jose (not the test) made to it. */
interface Bastion {
  readonly ctx: TestContext;
  readonly smtp: TestSmtp;
  /** Where it listens (port 0, read back). */
  readonly url: string;
  /** PUBLIC_URL: the tokens' issuer and audience. */
  readonly issuer: string;
  /**
   * Runs 10 minutes behind the real clock, so it can be moved past the publish lead while the
   * tokens it signs stay valid for the resource server, which runs on real time.
   */
  readonly clock: ReturnType<typeof manualClock>;
  readonly user: { email: string; password: string; userId: string };
  readonly remoteFetches: () => number;
}

/** Each describe starts its own Bastion: a rotation must not leak keys or time into another. */
function useBastion(ready: (b: Bastion) => void): void {
  let bastion: Bastion | undefined;
  beforeAll(async () => {
    const clock = manualClock(Math.floor((Date.now() - 10 * MINUTE) / 1000) * 1000);
    const smtp = await startTestSmtp();
    let fetches = 0;
    const ctx = await createTestApp({
      env: { SMTP_URL: smtp.url },
      deps: { clock },
      beforeReady(app) {
        app.addHook('onRequest', (request, _reply, done) => {
          const agent = request.headers['user-agent'] ?? '';
          if (request.url === JWKS_PATH && agent.startsWith('jose/')) fetches += 1;
          done();
        });
      },
    });
    await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = ctx.app.server.address() as AddressInfo;
    bastion = {
      ctx,
      smtp,
      url: `http://127.0.0.1:${port}`,
      issuer: ctx.config.publicUrl,
      clock,
      user: await registerAndVerify(ctx.app, smtp),
      remoteFetches: () => fetches,
    };
    ready(bastion);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await bastion?.ctx.close();
    await bastion?.smtp.close();
  });
}

/** The whole resource server: a remote key set, and one verify call with the contract's checks. */
function resourceServer(b: Bastion): (token: string) => Promise<JWTPayload> {
  const jwks = createRemoteJWKSet(new URL(`${b.url}${JWKS_PATH}`));
  return async (token) =>
    (await jwtVerify(token, jwks, { issuer: b.issuer, audience: b.issuer, typ: 'at+jwt' })).payload;
}

/** Fetches the JWKS over HTTP and checks that no key carries a private member. */
async function publishedKids(b: Bastion): Promise<string[]> {
  const res = await fetch(`${b.url}${JWKS_PATH}`);
  expect(res.status).toBe(200);
  const { keys } = (await res.json()) as { keys: JWK[] };
  for (const key of keys) {
    for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
  }
  return keys.map((k) => k.kid as string);
}

async function newToken(b: Bastion): Promise<string> {
  return (await login(b.ctx.app, b.user.email, b.user.password)).accessToken;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

describe('a resource server that knows only the JWKS URL', () => {
  let b: Bastion;
  useBastion((x) => {
    b = x;
  });

  it('accepts a Bastion access token, and refuses a tampered one', async () => {
    const token = await newToken(b);
    const verify = resourceServer(b);
    const claims = await verify(token);
    expect(claims).toMatchObject({ sub: b.user.userId, iss: b.issuer, aud: b.issuer });
    expect(await publishedKids(b)).toEqual([kidOf(token)]);

    const [h, p, s] = token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[10] = (sig[10] as number) ^ 0x80;
    await expect(verify(`${h}.${p}.${sig.toString('base64url')}`)).rejects.toThrow();
  });

  it('serves the JWKS with cache headers and public members only', async () => {
    const res = await fetch(`${b.url}${JWKS_PATH}`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const { keys } = (await res.json()) as { keys: JWK[] };
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    for (const member of PRIVATE_MEMBERS) expect(keys[0]).not.toHaveProperty(member);
  });
});

describe('a resource server across a key rotation', () => {
  let b: Bastion;
  useBastion((x) => {
    b = x;
  });

  it('keeps accepting tokens: published first, signing later; the old key leaves once its last token has expired', async () => {
    const { ctx, clock } = b;
    const oldToken = await newToken(b);
    const firstKid = kidOf(oldToken) as string;
    const earlyVerifier = resourceServer(b);
    await earlyVerifier(oldToken);
    expect(await publishedKids(b)).toEqual([firstKid]);

    // What `bastion keys rotate` does: store a key that signs after the lead, tell the instances.
    const masterKey = ctx.config.keyEncryptionKey;
    if (!masterKey) throw new Error('the test config sets KEY_ENCRYPTION_KEY');
    const lead = DEFAULT_PUBLISH_LEAD_SECONDS * 1000;
    const newKid = await createSigningKey(
      ctx.database.db,
      masterKey,
      'EdDSA',
      new Date(clock.now() + lead),
      900 + 30,
    );
    await ctx.state.publish(KEYS_CHANGED_CHANNEL, newKid);
    let kids = await publishedKids(b);
    for (let i = 0; i < 40 && !kids.includes(newKid); i++) {
      await sleep(50);
      kids = await publishedKids(b);
    }

    // Published at once, beside the old key, but not signing yet.
    expect(kids.sort()).toEqual([firstKid, newKid].sort());
    expect(kidOf(await newToken(b))).toBe(firstKid);
    // A service that fetches the JWKS during the lead already holds the new key.
    const lateVerifier = resourceServer(b);
    await lateVerifier(oldToken);
    const fetchesBefore = b.remoteFetches();

    // The old key's last token, a second before the new key takes over.
    clock.advance(lead - 1000);
    const lastOldToken = await newToken(b);
    expect(kidOf(lastOldToken)).toBe(firstKid);
    clock.advance(1000);
    const activatedAt = clock.now();
    const rotatedToken = await newToken(b);
    expect(kidOf(rotatedToken)).toBe(newKid);
    await expect(lateVerifier(rotatedToken)).resolves.toMatchObject({ sub: b.user.userId });
    expect(b.remoteFetches()).toBe(fetchesBefore);

    // A service that cached the JWKS before the rotation refetches it for the unknown kid, once
    // jose's 30 s refetch cooldown has passed (the resource server's clock only).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 });
    try {
      await expect(earlyVerifier(rotatedToken)).resolves.toMatchObject({ sub: b.user.userId });
    } finally {
      vi.useRealTimers();
    }
    expect(b.remoteFetches()).toBe(fetchesBefore + 1);

    // Tokens the old key signed keep verifying, remotely and at Bastion.
    await expect(earlyVerifier(oldToken)).resolves.toBeTruthy();
    await expect(lateVerifier(oldToken)).resolves.toBeTruthy();
    expect((await me(ctx.app, oldToken)).statusCode).toBe(200);

    // The old key's last token expires at activation + 899 s; with the 30 s tolerance it is
    // acceptable until activation + 929 s. Just before that, the old key is still served.
    clock.advance(activatedAt + 928_000 - clock.now());
    expect((await publishedKids(b)).sort()).toEqual([firstKid, newKid].sort());
    expect((await me(ctx.app, lastOldToken)).statusCode).toBe(200);
    // Once no token it signed can be valid, it leaves the JWKS.
    clock.advance(3000);
    expect(await publishedKids(b)).toEqual([newKid]);
    expect((await me(ctx.app, lastOldToken)).statusCode).toBe(401);
  });
});
