/**
 * Attacks on the access-token gate (issue 4; checklist TOK-01..TOK-09, SESS-07): unsigned,
 * key-confused, tampered, self-keyed, expired, misdirected and misplaced tokens all get 401
 * `unauthorized` on `GET /auth/me`, while the real token keeps working.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  EmbeddedJWK,
  exportJWK,
  generateKeyPair,
  importPKCS8,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, type LoggedIn, login, signUp } from '../../../test/support/auth.js';
import {
  openTestDatabase,
  openTestState,
  type TestDatabase,
} from '../../../test/support/services.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { codeOf, me, SETUP_TIMEOUT_MS, segment, splitJwt } from '../../../test/support/tokens.js';
import { manualClock } from '../../platform/clock.js';
import { deriveKey, unseal } from '../../platform/crypto.js';
import type { SharedState } from '../../platform/state/shared-state.js';

type CryptoKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

let smtp: TestSmtp;
let database: TestDatabase;
let state: SharedState;
let ctx: TestContext;
let victim: LoggedIn;
let other: LoggedIn;
let realJwk: JWK;
let realKid: string;
let attacker: { publicJwk: JWK; privateKey: CryptoKey };

const env = () => ({ SMTP_URL: smtp.url });

beforeAll(async () => {
  smtp = await startTestSmtp();
  database = await openTestDatabase();
  state = await openTestState();
  ctx = await createTestApp({ database, state, env: env() });
  victim = await signUp(ctx.app, smtp);
  other = await signUp(ctx.app, smtp);
  const jwks = (await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
  expect(jwks.keys).toHaveLength(1);
  realJwk = jwks.keys[0];
  realKid = realJwk.kid as string;
  const pair = await generateKeyPair('EdDSA', { extractable: true });
  attacker = { publicJwk: await exportJWK(pair.publicKey), privateKey: pair.privateKey };
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await state?.close();
  await database?.close();
  await smtp?.close();
});

function expectUnauthorized(res: LightMyRequestResponse): void {
  expect(res.statusCode).toBe(401);
  expect(codeOf(res)).toBe('unauthorized');
}

/** The victim's real claims, re-dated to now so only the attack under test is wrong. */
function victimClaims(): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { ...decodeJwt(victim.accessToken), iat: now, nbf: now, exp: now + 900 };
}

/** A compact JWT whose signature is an HMAC-SHA256 under `secret` (any header we like). */
function hmacSigned(header: object, payload: object, secret: Buffer | string): string {
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function signWith(key: CryptoKey, header: JWTHeaderParameters, payload: JWTPayload) {
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

describe('control', () => {
  it('the real token opens /auth/me', async () => {
    const res = await me(ctx.app, victim.accessToken);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.id).toBe(victim.userId);
  });
});

describe('attack: tokens without a valid signature by a ring key', () => {
  it('an unsigned `alg: none` token with the right claims is refused, in every spelling', async () => {
    const { signature } = splitJwt(victim.accessToken);
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const head = `${segment({ alg, typ: 'at+jwt', kid: realKid })}.${segment(victimClaims())}`;
      // Empty signature, and the real token's signature left in place.
      expectUnauthorized(await me(ctx.app, `${head}.`));
      expectUnauthorized(await me(ctx.app, `${head}.${signature}`));
    }
  });

  it('an HS256 token keyed with the published public key is refused (key confusion)', async () => {
    const x = realJwk.x as string;
    const secrets: (Buffer | string)[] = [
      Buffer.from(x, 'base64url'), // the raw Ed25519 public key bytes
      x, // the `x` member as text
      JSON.stringify(realJwk), // the JWK as served
      JSON.stringify({ keys: [realJwk] }), // the whole JWKS document
      '', // an empty secret (jwt_tool -X b)
    ];
    for (const secret of secrets) {
      for (const header of [{ alg: 'HS256', typ: 'at+jwt', kid: realKid }, { alg: 'HS256' }]) {
        expectUnauthorized(await me(ctx.app, hmacSigned(header, victimClaims(), secret)));
      }
    }
  });

  it('a flipped bit or an all-zero signature is refused', async () => {
    const [h, p, s] = victim.accessToken.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[0] = (sig[0] as number) ^ 1;
    expectUnauthorized(await me(ctx.app, `${h}.${p}.${sig.toString('base64url')}`));
    expectUnauthorized(await me(ctx.app, `${h}.${p}.${Buffer.alloc(64).toString('base64url')}`));
  });

  it('a tampered payload under the original signature is refused, even once the original is cached', async () => {
    // Verified once, so the original sits in the verified-token cache.
    expect((await me(ctx.app, victim.accessToken)).statusCode).toBe(200);
    const { header, payload, signature } = splitJwt(victim.accessToken);
    const otherSid = decodeJwt(other.accessToken).sid;
    const tampered = [
      { ...payload, sub: other.userId },
      { ...payload, sid: otherSid },
      { ...payload, roles: ['user', 'admin'] },
      { ...payload, exp: (payload.exp as number) + 86_400 },
    ];
    for (const claims of tampered) {
      expectUnauthorized(await me(ctx.app, `${segment(header)}.${segment(claims)}.${signature}`));
    }
  });

  it('a token signed with an attacker key under an unknown or hostile kid is refused', async () => {
    const kids = ['unknown-kid', `${realKid}x`, '../../dev/null', "' OR 1=1--", '', realKid];
    for (const kid of kids) {
      const token = await signWith(
        attacker.privateKey,
        { alg: 'EdDSA', typ: 'at+jwt', kid },
        victimClaims(),
      );
      expectUnauthorized(await me(ctx.app, token));
    }
  });
});

describe('attack: a token that names its own verification key (jwk, jku, x5u)', () => {
  let server: Server;
  let requests = 0;
  let attackerUrl: string;
  let attackerKid: string;

  beforeAll(async () => {
    attackerKid = 'attacker-key';
    const body = JSON.stringify({ keys: [{ ...attacker.publicJwk, kid: attackerKid }] });
    server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const base = { alg: 'EdDSA', typ: 'at+jwt' } as const;

  it('an embedded `jwk` header is ignored, with or without the kid of a real key', async () => {
    for (const header of [
      { ...base, kid: realKid, jwk: attacker.publicJwk },
      { ...base, jwk: attacker.publicJwk },
    ]) {
      const token = await signWith(attacker.privateKey, header, victimClaims());
      // A verifier that trusts the header would accept it (jwt_tool -X i) ...
      await expect(jwtVerify(token, EmbeddedJWK)).resolves.toBeTruthy();
      // ... Bastion does not.
      expectUnauthorized(await me(ctx.app, token));
    }
  });

  it('a `jku` or `x5u` header is ignored and never fetched (jwt_tool -X s)', async () => {
    const headers: JWTHeaderParameters[] = [
      { ...base, kid: realKid, jku: attackerUrl },
      { ...base, kid: attackerKid, jku: attackerUrl },
      { ...base, jku: attackerUrl },
      { ...base, kid: realKid, x5u: attackerUrl },
    ];
    for (const header of headers) {
      const token = await signWith(attacker.privateKey, header, victimClaims());
      expectUnauthorized(await me(ctx.app, token));
    }
    expect(requests).toBe(0);

    // Control: the attacker's key set is reachable and does verify that token for a naive client.
    const token = await signWith(
      attacker.privateKey,
      { ...base, kid: attackerKid, jku: attackerUrl },
      victimClaims(),
    );
    await expect(jwtVerify(token, createRemoteJWKSet(new URL(attackerUrl)))).resolves.toBeTruthy();
    expect(requests).toBe(1);
  });
});

describe('attack: tokens outside their lifetime (injected clock)', () => {
  async function timedApp() {
    const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
    const timed = await createTestApp({ database, state, env: env(), deps: { clock } });
    return { clock, timed };
  }

  it('an expired token is refused once the 30 s tolerance has passed, not before', async () => {
    const { clock, timed } = await timedApp();
    try {
      const session = await login(timed.app, victim.email, victim.password);
      clock.advance((900 + 29) * 1000);
      expect((await me(timed.app, session.accessToken)).statusCode).toBe(200);
      // Now cached as verified: the cache must expire with the token.
      clock.advance(2000);
      expectUnauthorized(await me(timed.app, session.accessToken));
    } finally {
      await timed.close();
    }
  });

  it('a token presented before its `nbf` (beyond the tolerance) is refused', async () => {
    const { clock, timed } = await timedApp();
    try {
      const session = await login(timed.app, victim.email, victim.password);
      clock.advance(-31_000);
      expectUnauthorized(await me(timed.app, session.accessToken));
      clock.advance(2000);
      expect((await me(timed.app, session.accessToken)).statusCode).toBe(200);
    } finally {
      await timed.close();
    }
  });
});

describe('attack: a token issued for another audience or by another issuer', () => {
  // Same database, so the same key ring: only `aud` / `iss` differ.
  it('a token for this API is refused by an API with another JWT_AUDIENCE, and back', async () => {
    const elsewhere = await createTestApp({
      database,
      state,
      env: { ...env(), JWT_AUDIENCE: 'https://other-api.example' },
    });
    try {
      expectUnauthorized(await me(elsewhere.app, victim.accessToken));
      const local = await login(elsewhere.app, victim.email, victim.password);
      expect(decodeProtectedHeader(local.accessToken).kid).toBe(realKid);
      expect((await me(elsewhere.app, local.accessToken)).statusCode).toBe(200);
      expectUnauthorized(await me(ctx.app, local.accessToken));
    } finally {
      await elsewhere.close();
    }
  });

  it('a token from another issuer (PUBLIC_URL) with the same audience is refused', async () => {
    const elsewhere = await createTestApp({
      database,
      state,
      env: {
        ...env(),
        PUBLIC_URL: 'http://127.0.0.1:4000',
        JWT_AUDIENCE: ctx.config.jwt.audience,
      },
    });
    try {
      const foreign = await login(elsewhere.app, victim.email, victim.password);
      expect(decodeJwt(foreign.accessToken)).toMatchObject({
        iss: 'http://127.0.0.1:4000',
        aud: ctx.config.jwt.audience,
      });
      expect((await me(elsewhere.app, foreign.accessToken)).statusCode).toBe(200);
      expectUnauthorized(await me(ctx.app, foreign.accessToken));
      expectUnauthorized(await me(elsewhere.app, victim.accessToken));
    } finally {
      await elsewhere.close();
    }
  });
});

describe('attack: a token anywhere but `Authorization: Bearer`', () => {
  const get = (url: string, headers: Record<string, string> = {}) =>
    ctx.app.inject({ method: 'GET', url, headers });

  it('a token in the query string is refused', async () => {
    const token = encodeURIComponent(victim.accessToken);
    expectUnauthorized(await get(`/auth/me?access_token=${token}`));
  });

  it('a token in a cookie is refused', async () => {
    expectUnauthorized(await get('/auth/me', { cookie: `access_token=${victim.accessToken}` }));
    expectUnauthorized(await get('/auth/me', { cookie: `authorization=${victim.accessToken}` }));
  });

  it('the scheme is case-insensitive, but only Bearer is a bearer scheme', async () => {
    const token = victim.accessToken;
    expect((await get('/auth/me', { authorization: `bearer ${token}` })).statusCode).toBe(200);
    const refused = [
      `Basic ${token}`,
      `Basic ${Buffer.from(`${victim.email}:${token}`).toString('base64')}`,
      `Token ${token}`,
      `JWT ${token}`,
      token,
      `Bearer ${token}, Bearer ${other.accessToken}`,
    ];
    for (const authorization of refused)
      expectUnauthorized(await get('/auth/me', { authorization }));
  });
});

describe('attack: a token of a session that has ended', () => {
  it('the access token of a logged-out session is refused', async () => {
    const session = await login(ctx.app, victim.email, victim.password);
    expect((await me(ctx.app, session.accessToken)).statusCode).toBe(200);
    const out = await ctx.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer(session.accessToken),
    });
    expect(out.statusCode).toBe(204);
    expectUnauthorized(await me(ctx.app, session.accessToken));
    // Other sessions of the same user live on.
    expect((await me(ctx.app, victim.accessToken)).statusCode).toBe(200);
  });

  it('the access token of a session logged out with its refresh cookie is refused', async () => {
    const session = await login(ctx.app, victim.email, victim.password);
    expect((await me(ctx.app, session.accessToken)).statusCode).toBe(200);
    const out = await ctx.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
    });
    expect(out.statusCode).toBe(204);
    expectUnauthorized(await me(ctx.app, session.accessToken));
  });
});

describe('white box: forged with the real private key, unsealed from the database', () => {
  let realKey: CryptoKey;
  beforeAll(async () => {
    const masterKey = ctx.config.keyEncryptionKey;
    if (!masterKey) throw new Error('the test config sets KEY_ENCRYPTION_KEY');
    const row = await database.db
      .selectFrom('signing_keys')
      .select('private_key_sealed')
      .where('kid', '=', realKid)
      .executeTakeFirstOrThrow();
    const pem = unseal(deriveKey(masterKey, 'signing-keys'), row.private_key_sealed, realKid);
    realKey = await importPKCS8(pem, 'EdDSA');
  });

  const header = () => ({ alg: 'EdDSA', typ: 'at+jwt', kid: realKid });
  const forged = (claims: JWTPayload, head: JWTHeaderParameters = header()) =>
    signWith(realKey, head, claims);

  it('the harness works: the real claims re-signed are accepted (control)', async () => {
    expect((await me(ctx.app, await forged(victimClaims()))).statusCode).toBe(200);
  });

  it('another token type (ID token, mfa-pending, plain JWT, none) is refused', async () => {
    for (const typ of ['JWT', 'mfa+jwt', 'id_token+jwt', undefined]) {
      expectUnauthorized(await me(ctx.app, await forged(victimClaims(), { ...header(), typ })));
    }
  });

  it('a token without `exp`, or past `exp` by more than 30 s, is refused', async () => {
    const { exp: _exp, ...noExp } = victimClaims();
    expectUnauthorized(await me(ctx.app, await forged(noExp)));
    const now = Math.floor(Date.now() / 1000);
    const stale = { ...victimClaims(), iat: now - 931, nbf: now - 931, exp: now - 31 };
    expectUnauthorized(await me(ctx.app, await forged(stale)));
  });

  it('a validly signed token with the wrong `aud` or `iss` is refused', async () => {
    expectUnauthorized(
      await me(ctx.app, await forged({ ...victimClaims(), aud: 'https://x.example' })),
    );
    expectUnauthorized(
      await me(ctx.app, await forged({ ...victimClaims(), iss: 'https://x.example' })),
    );
  });

  it('a token without a `sid`, or with an unknown role, is refused', async () => {
    const { sid: _sid, ...noSid } = victimClaims();
    expectUnauthorized(await me(ctx.app, await forged(noSid)));
    expectUnauthorized(await me(ctx.app, await forged({ ...victimClaims(), roles: ['root'] })));
  });
});

describe('the token carries what RFC 9068 asks and no personal data', () => {
  it('has `typ: at+jwt`, a published `kid`, and exactly the contract claims', async () => {
    const header = decodeProtectedHeader(victim.accessToken);
    expect(header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: realKid });

    const claims = decodeJwt(victim.accessToken);
    // The contract's claims, plus `amr` (RFC 8176: how the user authenticated, for step-up).
    expect(Object.keys(claims).sort()).toEqual(
      ['amr', 'aud', 'auth_time', 'exp', 'iat', 'iss', 'jti', 'nbf', 'roles', 'sid', 'sub'].sort(),
    );
    expect(claims).toMatchObject({
      iss: ctx.config.publicUrl,
      aud: ctx.config.jwt.audience,
      sub: victim.userId,
      roles: ['user'],
      amr: ['pwd'],
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(typeof claims.auth_time).toBe('number');
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);

    // `sid` is the id the sessions list shows as current.
    const sessions = await ctx.app.inject({
      method: 'GET',
      url: '/auth/sessions',
      headers: bearer(victim.accessToken),
    });
    const current = sessions.json().items.find((s: { current: boolean }) => s.current);
    expect(claims.sid).toBe(current.id);

    const raw = Buffer.from(victim.accessToken.split('.')[1] as string, 'base64url').toString();
    expect(raw).not.toContain(victim.email);
    expect(raw).not.toContain('Test User');
    expect(raw).not.toMatch(/email|name/i);
  });
});
