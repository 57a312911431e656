/**
 * Issue 18: `/.well-known/openid-configuration` names the issuer, JWKS and algorithms that the
 * tokens really have, so an off-the-shelf verifier configured from it accepts Bastion's tokens;
 * `JWT_AUDIENCE` may list several audiences (tokens carry all, verification accepts any).
 */
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, login, signUp } from '../../../test/support/auth.js';
import {
  openTestDatabase,
  openTestState,
  type TestDatabase,
} from '../../../test/support/services.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { SETUP_TIMEOUT_MS } from '../../../test/support/tokens.js';
import type { SharedState } from '../../platform/state/shared-state.js';

let smtp: TestSmtp;
let database: TestDatabase;
let state: SharedState;
let ctx: TestContext;

beforeAll(async () => {
  smtp = await startTestSmtp();
  database = await openTestDatabase();
  state = await openTestState();
  ctx = await createTestApp({ database, state, env: { SMTP_URL: smtp.url } });
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await state?.close();
  await database?.close();
  await smtp?.close();
});

interface Discovery {
  issuer: string;
  jwks_uri: string;
  id_token_signing_alg_values_supported: string[];
  access_token_signing_alg_values_supported: string[];
  [field: string]: unknown;
}

async function discover(app: TestContext['app']): Promise<Discovery> {
  const res = await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
  return res.json() as Discovery;
}

describe('GET /.well-known/openid-configuration', () => {
  it('matches the JWKS and the tokens, and a verifier built from it accepts a token', async () => {
    const doc = await discover(ctx.app);
    expect(doc.issuer).toBe(ctx.config.publicUrl);
    expect(doc.jwks_uri).toBe(`${ctx.config.publicUrl}/.well-known/jwks.json`);
    expect(doc.id_token_signing_alg_values_supported).toEqual([ctx.config.jwt.alg]);
    expect(doc.access_token_signing_alg_values_supported).toEqual([ctx.config.jwt.alg]);
    // Not an OpenID Provider: no endpoint it does not have.
    for (const absent of [
      'authorization_endpoint',
      'token_endpoint',
      'userinfo_endpoint',
      'registration_endpoint',
    ])
      expect(doc).not.toHaveProperty(absent);

    const jwksPath = new URL(doc.jwks_uri).pathname;
    const jwks = (await ctx.app.inject({ method: 'GET', url: jwksPath })).json();
    for (const key of jwks.keys)
      expect(doc.access_token_signing_alg_values_supported).toContain(key.alg);

    const user = await signUp(ctx.app, smtp);
    const header = decodeProtectedHeader(user.accessToken);
    expect(doc.access_token_signing_alg_values_supported).toContain(header.alg);
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toContain(header.kid);
    const { payload } = await jwtVerify(user.accessToken, createLocalJWKSet(jwks), {
      issuer: doc.issuer,
      audience: ctx.config.jwt.audience,
      algorithms: doc.access_token_signing_alg_values_supported,
      typ: 'at+jwt',
    });
    expect(payload.sub).toBe(user.userId);
  });

  it('is public: a bearer or none answers the same document', async () => {
    const anonymous = await discover(ctx.app);
    const res = await ctx.app.inject({
      method: 'GET',
      url: '/.well-known/openid-configuration',
      headers: bearer('not-a-token'),
    });
    expect(res.json()).toEqual(anonymous);
  });
});

describe('JWT_AUDIENCE with several audiences', () => {
  it('tokens carry every audience and verification accepts a token for any of them', async () => {
    const many = await createTestApp({
      database,
      state,
      env: { SMTP_URL: smtp.url, JWT_AUDIENCE: 'https://orders.example, https://media.example' },
    });
    const single = await createTestApp({
      database,
      state,
      env: { SMTP_URL: smtp.url, JWT_AUDIENCE: 'https://media.example' },
    });
    const stranger = await createTestApp({
      database,
      state,
      env: { SMTP_URL: smtp.url, JWT_AUDIENCE: 'https://billing.example' },
    });
    try {
      expect(many.config.jwt.audiences).toEqual([
        'https://orders.example',
        'https://media.example',
      ]);
      expect(many.config.jwt.audience).toBe('https://orders.example');
      const user = await signUp(many.app, smtp);
      expect(decodeJwt(user.accessToken).aud).toEqual([
        'https://orders.example',
        'https://media.example',
      ]);
      const me = (app: TestContext['app'], token: string) =>
        app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) });
      expect((await me(many.app, user.accessToken)).statusCode).toBe(200);
      // A service that is one of the audiences accepts the token; one that is none refuses it.
      expect((await me(single.app, user.accessToken)).statusCode).toBe(200);
      expect((await me(stranger.app, user.accessToken)).statusCode).toBe(401);
      // A token for one listed audience is accepted by the multi-audience deployment…
      const narrow = await login(single.app, user.email, user.password);
      expect(decodeJwt(narrow.accessToken).aud).toBe('https://media.example');
      expect((await me(many.app, narrow.accessToken)).statusCode).toBe(200);
      // …and one for an unlisted audience is not.
      const foreign = await login(stranger.app, user.email, user.password);
      expect((await me(many.app, foreign.accessToken)).statusCode).toBe(401);
    } finally {
      await stranger.close();
      await single.close();
      await many.close();
    }
  });
});
