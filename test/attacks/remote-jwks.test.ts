/**
 * Another service trusts Bastion's access tokens with nothing but the JWKS URL (issue 4;
 * checklist TOK-08): a resource server made of jose's `createRemoteJWKSet` and `jwtVerify`,
 * talking to a listening Bastion over HTTP, before, during and after a key rotation.
 */
import { createServer } from 'node:net';
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

/**
 * Bastion's clock runs 10 minutes behind the real one, so it can be moved past the publish lead
 * while the tokens it signs stay valid for the resource server, which runs on real time.
 */
const clock = manualClock(Math.floor((Date.now() - 10 * MINUTE) / 1000) * 1000);
let smtp: TestSmtp;
let ctx: TestContext;
let base: string;
let user: { email: string; password: string; userId: string };
/** JWKS requests made by jose (the resource servers), not by the test itself. */
let remoteFetches = 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  smtp = await startTestSmtp();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ctx = await createTestApp({
    env: { SMTP_URL: smtp.url, PUBLIC_URL: base },
    deps: { clock },
    beforeReady(app) {
      app.addHook('onRequest', (request, _reply, done) => {
        const agent = request.headers['user-agent'] ?? '';
        if (request.url === JWKS_PATH && agent.startsWith('jose/')) remoteFetches += 1;
        done();
      });
    },
  });
  await ctx.app.listen({ port, host: '127.0.0.1' });
  user = await registerAndVerify(ctx.app, smtp);
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

/** The whole resource server: a remote key set, and one verify call with the contract's checks. */
function resourceServer(): (token: string) => Promise<JWTPayload> {
  const jwks = createRemoteJWKSet(new URL(`${base}${JWKS_PATH}`));
  return async (token) =>
    (await jwtVerify(token, jwks, { issuer: base, audience: base, typ: 'at+jwt' })).payload;
}

/** Fetches the JWKS over HTTP and checks that no key carries a private member. */
async function publishedKids(): Promise<string[]> {
  const res = await fetch(`${base}${JWKS_PATH}`);
  expect(res.status).toBe(200);
  const { keys } = (await res.json()) as { keys: JWK[] };
  for (const key of keys) {
    for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
  }
  return keys.map((k) => k.kid as string);
}

async function newToken(): Promise<string> {
  return (await login(ctx.app, user.email, user.password)).accessToken;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

describe('a resource server that knows only the JWKS URL', () => {
  let firstKid: string;
  let oldToken: string;
  let earlyVerifier: (token: string) => Promise<JWTPayload>;
  let lastOldToken: string;
  let activatedAt: number;

  it('accepts a Bastion access token, and refuses a tampered one', async () => {
    oldToken = await newToken();
    earlyVerifier = resourceServer();
    const claims = await earlyVerifier(oldToken);
    expect(claims).toMatchObject({ sub: user.userId, iss: base, aud: base });
    firstKid = kidOf(oldToken) as string;
    expect(await publishedKids()).toEqual([firstKid]);

    const [h, p, s] = oldToken.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[10] = (sig[10] as number) ^ 0x80;
    await expect(earlyVerifier(`${h}.${p}.${sig.toString('base64url')}`)).rejects.toThrow();
  });

  it('serves the JWKS with cache headers and public members only', async () => {
    const res = await fetch(`${base}${JWKS_PATH}`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const { keys } = (await res.json()) as { keys: JWK[] };
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    for (const member of PRIVATE_MEMBERS) expect(keys[0]).not.toHaveProperty(member);
  });

  it('keeps accepting tokens across a key rotation: published first, signing later', async () => {
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
    let kids = await publishedKids();
    for (let i = 0; i < 40 && !kids.includes(newKid); i++) {
      await sleep(50);
      kids = await publishedKids();
    }

    // Published at once, beside the old key, but not signing yet.
    expect(kids.sort()).toEqual([firstKid, newKid].sort());
    expect(kidOf(await newToken())).toBe(firstKid);
    // A service that fetches the JWKS during the lead already holds the new key.
    const lateVerifier = resourceServer();
    await lateVerifier(oldToken);
    const fetchesBefore = remoteFetches;

    // The old key's last token, a second before the new key takes over.
    clock.advance(lead - 1000);
    lastOldToken = await newToken();
    expect(kidOf(lastOldToken)).toBe(firstKid);
    clock.advance(1000);
    activatedAt = clock.now();
    const rotatedToken = await newToken();
    expect(kidOf(rotatedToken)).toBe(newKid);
    await expect(lateVerifier(rotatedToken)).resolves.toMatchObject({ sub: user.userId });
    expect(remoteFetches).toBe(fetchesBefore);

    // A service that cached the JWKS before the rotation refetches it for the unknown kid, once
    // jose's 30 s refetch cooldown has passed (the resource server's clock only).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 });
    try {
      await expect(earlyVerifier(rotatedToken)).resolves.toMatchObject({ sub: user.userId });
    } finally {
      vi.useRealTimers();
    }
    expect(remoteFetches).toBe(fetchesBefore + 1);

    // Tokens the old key signed keep verifying, remotely and at Bastion.
    await expect(earlyVerifier(oldToken)).resolves.toBeTruthy();
    await expect(lateVerifier(oldToken)).resolves.toBeTruthy();
    expect((await me(ctx.app, oldToken)).statusCode).toBe(200);
  });

  it('keeps the old key published until the last token it signed has expired, then drops it', async () => {
    const newKid = kidOf(await newToken()) as string;
    // The old key's last token expires at activation + 899 s; with the 30 s tolerance it is
    // acceptable until activation + 929 s. Just before that, the old key is still served.
    clock.advance(activatedAt + 928_000 - clock.now());
    expect((await publishedKids()).sort()).toEqual([firstKid, newKid].sort());
    expect((await me(ctx.app, lastOldToken)).statusCode).toBe(200);
    // Once no token it signed can be valid, it leaves the JWKS.
    clock.advance(3000);
    expect(await publishedKids()).toEqual([newKid]);
    expect((await me(ctx.app, lastOldToken)).statusCode).toBe(401);
  });
});
