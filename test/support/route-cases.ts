/**
 * One row per operation in the OpenAPI document: how to build a request that passes validation,
 * and the status the contract gives each caller (anonymous, owner, other user, moderator, admin).
 * Shared by the authorization matrix and the mass-assignment attack.
 */
import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import type { Actor } from './actors.js';
import { STRONG_PASSWORD, uniqueEmail } from './auth.js';
import { solidImage } from './images.js';
import { imageUpload } from './multipart.js';
import type { World } from './world.js';

export interface Cell {
  readonly world: World;
  /** The account that owns the objects in the path (the caller itself in the owner column). */
  readonly owner: Actor;
  readonly caller: Actor | undefined;
}

export interface Case {
  /** Statuses for anonymous, owner, other, moderator, admin. */
  readonly expect: readonly [number, number, number, number, number];
  readonly build?: (cell: Cell) => Promise<Partial<InjectOptions>> | Partial<InjectOptions>;
}

const NEW_PASSWORD = 'amber-kettle-sings-over-4-hills';
const BOGUS_TOKEN = 'x'.repeat(43);
const FORGED_JWT = `${'e'.repeat(36)}.${'e'.repeat(80)}.${'s'.repeat(86)}`;
const json = (payload: object) => ({ payload });
/** A WebAuthn response that passes validation and names no challenge the server issued. */
const BOGUS_PASSKEY_RESPONSE = (field: 'attestationObject' | 'authenticatorData') => ({
  id: 'AAAA',
  rawId: 'AAAA',
  type: 'public-key',
  response: {
    clientDataJSON: Buffer.from('{"challenge":"x"}').toString('base64url'),
    [field]: 'AAAA',
    ...(field === 'authenticatorData' ? { signature: 'AAAA' } : {}),
  },
  clientExtensionResults: {},
});
const productBody = { name: 'Matrix product', priceCents: 250, stock: 5 };
const ANY = [200, 200, 200, 200, 200] as const;
const BEARER = (ok: number) => [401, ok, ok, ok, ok] as const;
const ADMIN = (ok: number) => [401, 403, 403, 403, ok] as const;

/** Keyed by `METHOD /openapi/path`. */
export const CASES: Record<string, Case> = {
  // --- service
  'GET /health/live': { expect: ANY },
  'GET /health/ready': { expect: ANY },
  'GET /.well-known/jwks.json': { expect: ANY },
  'GET /.well-known/openid-configuration': { expect: ANY },
  // Described by hand in the document (issue 18): without METRICS_TOKEN the scrape is absent (404);
  // a stored image is public, an unknown name 404 for everyone.
  'GET /metrics': { expect: [404, 404, 404, 404, 404] },
  'GET /media/{name}': {
    expect: [404, 404, 404, 404, 404],
    build: () => ({ url: '/media/0000000000000000.webp' }),
  },
  // The revocation feed (issue 18) takes a SERVICE_TOKENS bearer only: no user token opens it.
  'GET /auth/revocations': { expect: [401, 401, 401, 401, 401] },

  // --- accounts: public routes answer everyone alike; a bearer changes nothing
  'POST /auth/register': {
    expect: [202, 202, 202, 202, 202],
    build: () =>
      json({ email: uniqueEmail('matrix'), password: STRONG_PASSWORD, displayName: 'M' }),
  },
  'POST /auth/verify-email': {
    expect: [400, 400, 400, 400, 400],
    build: () => json({ token: BOGUS_TOKEN, password: STRONG_PASSWORD }),
  },
  'POST /auth/secure-account': {
    expect: [400, 400, 400, 400, 400],
    build: () => json({ token: BOGUS_TOKEN }),
  },
  'POST /auth/invitations/accept': {
    expect: [400, 400, 400, 400, 400],
    build: () => json({ token: BOGUS_TOKEN, password: NEW_PASSWORD }),
  },
  'POST /auth/password/forgot': {
    expect: [202, 202, 202, 202, 202],
    build: ({ owner }) => json({ email: owner.email }),
  },
  'POST /auth/verify-email/resend': {
    expect: [202, 202, 202, 202, 202],
    build: ({ owner }) => json({ email: owner.email }),
  },
  'POST /auth/password/reset': {
    expect: [400, 400, 400, 400, 400],
    build: () => json({ token: BOGUS_TOKEN, newPassword: NEW_PASSWORD }),
  },
  // Email change (issue 19): the links' token is their credential; a bogus one is 400.
  'POST /auth/email/confirm': {
    expect: [400, 400, 400, 400, 400],
    build: () => json({ token: BOGUS_TOKEN }),
  },
  'POST /auth/email/revert': {
    expect: [400, 400, 400, 400, 400],
    build: () => json({ token: BOGUS_TOKEN }),
  },
  'POST /auth/login': {
    expect: [200, 200, 200, 200, 200],
    build: ({ owner }) => json({ email: owner.email, password: STRONG_PASSWORD }),
  },
  'POST /auth/login/mfa': {
    expect: [401, 401, 401, 401, 401],
    build: () => json({ mfaToken: FORGED_JWT, code: '123456' }),
  },
  // Without the refresh cookie: a bearer is not a refresh credential.
  'POST /auth/refresh': { expect: [401, 401, 401, 401, 401] },
  'POST /auth/logout': { expect: BEARER(204) },
  'POST /auth/logout-all': { expect: BEARER(204) },
  'GET /auth/me': { expect: BEARER(200) },
  'GET /auth/sessions': { expect: BEARER(200) },
  // Only one's own sessions: another account's session id is 404, for admins too.
  // Social login (issue 16): the matrix app configures no provider, so both are 404.
  'GET /auth/oauth/{provider}/start': {
    expect: [404, 404, 404, 404, 404],
    build: () => ({ url: '/auth/oauth/nosuch/start' }),
  },
  'GET /auth/oauth/{provider}/callback': {
    expect: [404, 404, 404, 404, 404],
    build: () => ({ url: '/auth/oauth/nosuch/callback?state=x&code=y' }),
  },
  'GET /auth/identities': { expect: BEARER(200) },
  // Linking needs a configured provider: none here, so a fresh bearer reaches the 404.
  'POST /auth/identities/link': {
    expect: [401, 404, 404, 404, 404],
    build: () => json({ provider: 'nosuch' }),
  },
  // Nobody in the world has an identity: any id is someone else's or nobody's.
  'DELETE /auth/identities/{id}': {
    expect: [401, 404, 404, 404, 404],
    build: () => ({ url: `/auth/identities/${randomUUID()}` }),
  },
  // --- passkeys (issue 15): nobody in the world has one; a made-up response names no challenge.
  'POST /auth/passkeys/register/options': { expect: BEARER(200) },
  'POST /auth/passkeys/register/verify': {
    expect: [401, 400, 400, 400, 400],
    build: () => json({ response: BOGUS_PASSKEY_RESPONSE('attestationObject') }),
  },
  'GET /auth/passkeys': { expect: BEARER(200) },
  'PATCH /auth/passkeys/{id}': {
    expect: [401, 404, 404, 404, 404],
    build: () => ({ url: `/auth/passkeys/${randomUUID()}`, payload: { name: 'Matrix' } }),
  },
  'DELETE /auth/passkeys/{id}': {
    expect: [401, 404, 404, 404, 404],
    build: () => ({ url: `/auth/passkeys/${randomUUID()}` }),
  },
  'POST /auth/passkeys/login/options': { expect: ANY },
  // No challenge cookie: 400 `passkey_challenge_invalid` for everyone.
  'POST /auth/passkeys/login/verify': {
    expect: [400, 400, 400, 400, 400],
    build: () => json({ response: BOGUS_PASSKEY_RESPONSE('authenticatorData') }),
  },
  'DELETE /auth/sessions/{id}': {
    expect: [401, 204, 404, 404, 404],
    build: ({ world, owner }) => ({ url: `/auth/sessions/${world.sessionOf(owner)}` }),
  },
  // The admin has MFA: a change without `code` is 401 `mfa_required` (issue 14).
  'POST /auth/password/change': {
    expect: [401, 204, 204, 204, 401],
    build: () => json({ currentPassword: STRONG_PASSWORD, newPassword: NEW_PASSWORD }),
  },
  // Fresh actors (recent login) with their password: asked for, nothing changes until confirmed.
  'POST /auth/email/change': {
    expect: [401, 202, 202, 202, 202],
    build: () => json({ newEmail: uniqueEmail('matrix-move'), password: STRONG_PASSWORD }),
  },
  // Fresh actors logged in just now (recent login); the admin already has MFA. Past the gate,
  // users without MFA get 409 (nothing to confirm, remove or regenerate), the admin's wrong code
  // 401 `invalid_mfa_code`.
  'POST /auth/mfa/totp/setup': { expect: [401, 200, 200, 200, 409] },
  'POST /auth/mfa/totp/confirm': {
    expect: [401, 409, 409, 409, 409],
    build: () => json({ code: '123456' }),
  },
  'DELETE /auth/mfa/totp': {
    expect: [401, 409, 409, 409, 401],
    build: () => json({ code: '000000' }),
  },
  'POST /auth/mfa/recovery-codes': {
    expect: [401, 409, 409, 409, 401],
    build: () => json({ code: '000000' }),
  },

  // --- users
  'GET /users/{id}': {
    expect: BEARER(200),
    build: ({ owner }) => ({ url: `/users/${owner.userId}` }),
  },
  'PATCH /users/me': { expect: BEARER(200), build: () => json({ displayName: 'Renamed' }) },
  // Shared actors are re-made within the 5-minute recent-login window; fresh ones delete.
  'GET /users/me/export': { expect: BEARER(200) },
  'DELETE /users/me': { expect: BEARER(204) },
  'PUT /users/me/avatar': {
    expect: BEARER(200),
    build: async () => {
      const { payload, headers } = imageUpload(await solidImage(8, 8));
      return { payload, headers };
    },
  },

  // --- admin: admins only, everyone else 403 (anonymous 401)
  'GET /admin/users': { expect: ADMIN(200) },
  'PATCH /admin/users/{id}': {
    expect: ADMIN(200),
    build: ({ owner }) => ({ url: `/admin/users/${owner.userId}`, payload: { locked: false } }),
  },
  'DELETE /admin/users/{id}': {
    expect: [401, 403, 403, 403, 204],
    build: ({ owner }) => ({ url: `/admin/users/${owner.userId}` }),
  },
  'POST /admin/users/{id}/logout-all': {
    expect: ADMIN(204),
    build: ({ owner }) => ({ url: `/admin/users/${owner.userId}/logout-all` }),
  },
  // Support tools (issue 19): the admin is fresh (a recent login through TOTP), the owner too.
  'POST /admin/users': {
    expect: ADMIN(201),
    build: () => json({ email: uniqueEmail('matrix-invite') }),
  },
  'POST /admin/users/{id}/reset-mfa': {
    expect: ADMIN(204),
    build: ({ owner }) => ({
      url: `/admin/users/${owner.userId}/reset-mfa`,
      payload: { reason: 'matrix' },
    }),
  },
  'POST /admin/users/{id}/require-password-reset': {
    expect: ADMIN(204),
    build: ({ owner }) => ({ url: `/admin/users/${owner.userId}/require-password-reset` }),
  },
  'POST /admin/users/{id}/resend-verification': {
    expect: ADMIN(202),
    build: ({ owner }) => ({ url: `/admin/users/${owner.userId}/resend-verification` }),
  },
  'GET /admin/audit': { expect: ADMIN(200) },
  'GET /admin/audit/verify': { expect: ADMIN(200) },
  'GET /admin/security-events': { expect: ADMIN(200) },
  'GET /admin/webhooks/deliveries': { expect: ADMIN(200) },

  // --- catalog: public reads, admin writes
  'GET /products': { expect: ANY },
  'GET /products/{id}': {
    expect: ANY,
    build: async ({ world }) => ({ url: `/products/${await world.product()}` }),
  },
  'POST /products': { expect: ADMIN(201), build: () => json(productBody) },
  'PATCH /products/{id}': {
    expect: ADMIN(200),
    build: async ({ world }) => ({
      url: `/products/${await world.product(true)}`,
      payload: { stock: 7 },
    }),
  },
  'DELETE /products/{id}': {
    expect: ADMIN(204),
    build: async ({ world }) => ({ url: `/products/${await world.product(true)}` }),
  },
  'PUT /products/{id}/image': {
    expect: ADMIN(200),
    build: async ({ world }) => {
      const { payload, headers } = imageUpload(await solidImage(8, 8));
      return { url: `/products/${await world.product(true)}/image`, payload, headers };
    },
  },

  // --- wallet and orders: one's own only (admins see every order by id)
  'GET /wallet': { expect: BEARER(200) },
  'GET /wallet/ledger': { expect: BEARER(200) },
  'POST /orders': {
    expect: BEARER(201),
    build: async ({ world, caller }) => {
      if (caller) await world.funded(caller);
      return {
        headers: { 'idempotency-key': randomUUID() },
        payload: { items: [{ productId: await world.product(), quantity: 1 }] },
      };
    },
  },
  'GET /orders': { expect: BEARER(200) },
  'GET /orders/{id}': {
    expect: [401, 200, 404, 404, 200],
    build: async ({ world, owner }) => ({ url: `/orders/${await world.order(owner)}` }),
  },

  // --- posts and comments: public reads; the author edits; author, moderator or admin deletes
  'GET /posts': { expect: ANY },
  'GET /posts/{id}': {
    expect: ANY,
    build: async ({ world, owner }) => ({ url: `/posts/${await world.post(owner)}` }),
  },
  'GET /posts/{id}/comments': {
    expect: ANY,
    build: async ({ world, owner }) => ({ url: `/posts/${await world.post(owner)}/comments` }),
  },
  'GET /comments/{id}': {
    expect: ANY,
    build: async ({ world, owner }) => ({ url: `/comments/${await world.comment(owner)}` }),
  },
  'POST /posts': {
    expect: BEARER(201),
    build: () => json({ title: 'Hello', content: '<p>hi</p>' }),
  },
  'PATCH /posts/{id}': {
    expect: [401, 200, 403, 403, 403],
    build: async ({ world, owner }) => ({
      url: `/posts/${await world.post(owner)}`,
      payload: { title: 'Edited' },
    }),
  },
  'DELETE /posts/{id}': {
    expect: [401, 204, 403, 204, 204],
    build: async ({ world, owner }) => ({ url: `/posts/${await world.post(owner)}` }),
  },
  'POST /posts/{id}/comments': {
    expect: BEARER(201),
    build: async ({ world, owner }) => ({
      url: `/posts/${await world.post(owner)}/comments`,
      payload: { content: 'a comment' },
    }),
  },
  'DELETE /comments/{id}': {
    expect: [401, 204, 403, 204, 204],
    build: async ({ world, owner }) => ({ url: `/comments/${await world.comment(owner)}` }),
  },

  // --- payment webhook: the signature is the only credential; a bearer is worth nothing
  'POST /webhooks/payments': {
    expect: [400, 400, 400, 400, 400],
    build: () => ({ headers: { 'content-type': 'application/json' }, payload: '{"id":"evt_1"}' }),
  },
};
