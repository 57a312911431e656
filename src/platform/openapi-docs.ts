/**
 * What the OpenAPI document says beyond the routes' zod schemas (issue 18): a summary and a tag
 * for every operation, every error it can answer (problem+json, by status and `code`), the
 * success answers a schema cannot say (bodiless 202/204, redirects, pages), header parameters,
 * multipart and raw bodies, and the security of routes whose credential is not the bearer token.
 *
 * One table keyed by `operationId`, applied once to the generated document: route files keep
 * their schemas, and test/openapi-walk.test.ts drives every operation against a live app and
 * fails on any answer (status and code) this document does not declare.
 */

/** `"<status> <code>"`, e.g. `"409 email_taken"`. */
export type ErrorAnswer = `${number} ${string}`;

type Json = Record<string, unknown>;

export interface OperationDoc {
  readonly summary: string;
  readonly tag: string;
  /** Route-specific refusals; the common ones and the gate's are added for every operation. */
  readonly errors?: readonly ErrorAnswer[];
  /** Success answers replacing the generated default `200` (bodiless, redirects, pages). */
  readonly answers?: Readonly<Record<string, Json>>;
  /** Extra content types of the success answer (e.g. an event stream). */
  readonly alsoServes?: Readonly<Record<string, Json>>;
  readonly headers?: readonly (keyof typeof HEADERS)[];
  readonly body?: keyof typeof BODIES;
  /** The security of a route the bearer gate does not guard. */
  readonly security?: readonly Record<string, string[]>[];
  /** False for the liveness probe and the metrics scrape: load shedding never refuses them. */
  readonly shed?: boolean;
}

/** What the generator learned from each route (access and rate-limit config). */
export interface RouteFacts {
  readonly gateErrors: readonly string[];
  readonly rateLimited: boolean;
}

export const securitySchemes = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from login or refresh (`typ: at+jwt`, 15 minutes).',
  },
  refreshCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: '__Host-bastion_refresh',
    description:
      'The HttpOnly refresh cookie set by login (named `bastion_refresh` on plain-HTTP ' +
      'development). Browsers send it by themselves; always together with `csrfToken`.',
  },
  csrfToken: {
    type: 'apiKey',
    in: 'header',
    name: 'X-CSRF-Token',
    description:
      'The `csrfToken` of the login or refresh answer (also in the readable cookie ' +
      '`__Host-bastion_csrf`, `bastion_csrf` on plain HTTP); missing or wrong: 403 `csrf_failed`.',
  },
  serviceToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'One of `SERVICE_TOKENS`: the credential of a relying service.',
  },
  metricsToken: {
    type: 'http',
    scheme: 'bearer',
    description: '`METRICS_TOKEN`: the credential of a Prometheus scraper.',
  },
} as const;

const REFRESH_COOKIE = [{ refreshCookie: [], csrfToken: [] }];

const HEADERS = {
  'Idempotency-Key': {
    name: 'Idempotency-Key',
    in: 'header',
    required: true,
    description:
      'Chosen by the client, unique per intended order (scoped to the caller): a retry with the ' +
      'same key and body returns the first result, another body is 422 `idempotency_key_reused`.',
    schema: { type: 'string', minLength: 1, maxLength: 200 },
  },
  'Stripe-Signature': {
    name: 'Stripe-Signature',
    in: 'header',
    required: true,
    description:
      "Stripe's signature over the raw body (`t=<unix>,v1=<hex>`), at most 5 minutes old.",
    schema: { type: 'string' },
  },
  'If-None-Match': {
    name: 'If-None-Match',
    in: 'header',
    required: false,
    description: 'An ETag of this image (or `*`): answered 304 without the bytes.',
    schema: { type: 'string' },
  },
  'Last-Event-ID': {
    name: 'Last-Event-ID',
    in: 'header',
    required: false,
    description: 'A reconnecting event stream resumes after this cursor (when `since` is absent).',
    schema: { type: 'string' },
  },
} as const;

const BODIES = {
  image: {
    required: true,
    description: 'One image (JPEG, PNG or WebP by its bytes), at most 5 MiB and 4096×4096.',
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          required: ['file'],
          properties: { file: { type: 'string', format: 'binary' } },
          additionalProperties: false,
        },
        encoding: { file: { contentType: 'image/jpeg, image/png, image/webp' } },
      },
    },
  },
  stripeEvent: {
    required: true,
    description:
      'The Stripe event exactly as Stripe sent it: the signature covers these raw bytes, so ' +
      'a proxy must not re-encode them.',
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['id', 'type', 'data'],
          properties: {
            id: { type: 'string' },
            type: { type: 'string', examples: ['payment_intent.succeeded'] },
            data: { type: 'object', properties: { object: { type: 'object' } } },
          },
        },
      },
    },
  },
} as const;

const noContent = (description: string): Json => ({ description });
const redirect = (description: string): Json => ({
  description,
  headers: { Location: { schema: { type: 'string' } } },
});
const REAUTH: ErrorAnswer = '401 reauthentication_required';

/** Every documented operation, by `operationId` (platform/openapi.ts `operationIdOf`). */
export const operationDocs: Readonly<Record<string, OperationDoc>> = {
  // --- service ---
  getHealthLive: { summary: 'Liveness probe', tag: 'service', shed: false },
  getHealthReady: {
    summary: 'Readiness probe: the database (and Redis) answer',
    tag: 'service',
  },
  getWellKnownJwksJson: { summary: 'Public signing keys (JWKS)', tag: 'service' },
  getWellKnownOpenidConfiguration: {
    summary: 'Discovery document for relying services',
    tag: 'service',
  },
  getAuthRevocations: {
    summary: 'Revoked sessions since a cursor (page or event stream)',
    tag: 'service',
    security: [{ serviceToken: [] }],
    headers: ['Last-Event-ID'],
    errors: ['401 unauthorized'],
    alsoServes: {
      'text/event-stream': {
        schema: { type: 'string', description: '`event: revocations`, `data: {items, cursor}`' },
      },
    },
  },
  getMetrics: {
    summary: 'Prometheus metrics',
    tag: 'service',
    security: [{ metricsToken: [] }],
    shed: false,
    errors: ['401 unauthorized', '404 not_found'],
  },
  getMediaByName: {
    summary: 'A stored image (public, immutable)',
    tag: 'media',
    headers: ['If-None-Match'],
    errors: ['404 not_found'],
  },
  // --- sign-up, login, recovery ---
  postAuthRegister: {
    summary: 'Register an account (a verification link is mailed)',
    tag: 'auth',
    errors: ['400 weak_password'],
  },
  postAuthVerifyEmail: {
    summary: "Verify the email address with the mailed token and the account's password",
    tag: 'auth',
    errors: ['400 invalid_token', '401 invalid_credentials'],
  },
  postAuthLogin: {
    summary: 'Log in with email and password',
    tag: 'auth',
    errors: [
      '401 invalid_credentials',
      '401 mfa_required',
      '403 email_not_verified',
      '403 password_reset_required',
    ],
  },
  postAuthLoginMfa: {
    summary: 'Complete a login with a TOTP or recovery code',
    tag: 'auth',
    errors: [
      '401 invalid_mfa_token',
      '401 invalid_mfa_code',
      '403 email_not_verified',
      '403 password_reset_required',
    ],
  },
  postAuthPasswordForgot: {
    summary: 'Mail a password reset link',
    tag: 'auth',
    answers: { 202: noContent('Accepted: a link is mailed if the account exists') },
  },
  postAuthVerifyEmailResend: { summary: 'Mail a fresh verification link', tag: 'auth' },
  postAuthPasswordReset: {
    summary: 'Set a new password with the mailed reset token',
    tag: 'auth',
    answers: { 204: noContent('The password is set; every session of the account ended') },
    errors: ['400 invalid_token', '400 weak_password'],
  },
  postAuthSecureAccount: {
    summary: '"This was not me": end every session and block password login',
    tag: 'auth',
    answers: { 204: noContent('Every session ended; a reset link is mailed') },
    errors: ['400 invalid_token'],
  },
  postAuthPasswordChange: {
    summary: 'Change the password',
    tag: 'auth',
    answers: { 204: noContent('Changed; the other sessions ended') },
    errors: [
      '400 weak_password',
      '401 mfa_required',
      '401 invalid_mfa_code',
      '403 invalid_credentials',
    ],
  },
  getAuthMe: { summary: 'The signed-in account', tag: 'auth' },
  postAuthEmailChange: {
    summary: 'Request a change of email address',
    tag: 'auth',
    errors: [REAUTH, '401 invalid_credentials'],
  },
  postAuthEmailConfirm: {
    summary: 'Confirm an email change with the mailed token',
    tag: 'auth',
    errors: ['400 invalid_token'],
  },
  postAuthEmailRevert: {
    summary: 'Revert an email change with the token mailed to the old address',
    tag: 'auth',
    answers: { 204: noContent('The old address is back; every session ended') },
    errors: ['400 invalid_token'],
  },
  postAuthInvitationsAccept: {
    summary: 'Accept an invitation and choose a password',
    tag: 'auth',
    errors: ['400 invalid_token', '400 weak_password'],
  },
  // --- sessions ---
  postAuthRefresh: {
    summary: 'Rotate the refresh cookie and get a new access token',
    tag: 'sessions',
    security: REFRESH_COOKIE,
    errors: ['401 unauthorized', '401 refresh_token_reused', '403 csrf_failed'],
  },
  postAuthLogout: {
    summary: 'Log out of this session',
    tag: 'sessions',
    security: [{ bearer: [] }, ...REFRESH_COOKIE],
    answers: { 204: noContent('The session ended (`Clear-Site-Data: "storage"`)') },
    errors: ['401 unauthorized', '403 csrf_failed'],
  },
  postAuthLogoutAll: {
    summary: 'Log out of every session',
    tag: 'sessions',
    answers: { 204: noContent('Every session of the account ended') },
  },
  getAuthSessions: { summary: 'List own sessions', tag: 'sessions' },
  deleteAuthSessionsById: {
    summary: 'Revoke one of own sessions',
    tag: 'sessions',
    answers: { 204: noContent('The session ended') },
    errors: ['404 not_found'],
  },
  // --- MFA ---
  postAuthMfaTotpSetup: {
    summary: 'Start TOTP enrolment',
    tag: 'mfa',
    errors: [REAUTH, '409 mfa_already_enabled'],
  },
  postAuthMfaTotpConfirm: {
    summary: 'Confirm TOTP enrolment with a code; returns recovery codes',
    tag: 'mfa',
    errors: [REAUTH, '401 invalid_mfa_code', '409 mfa_already_enabled', '409 mfa_setup_required'],
  },
  deleteAuthMfaTotp: {
    summary: 'Turn MFA off',
    tag: 'mfa',
    answers: { 204: noContent('MFA is off; every session ended') },
    errors: [REAUTH, '401 invalid_mfa_code', '409 mfa_not_enabled'],
  },
  postAuthMfaRecoveryCodes: {
    summary: 'Regenerate the recovery codes',
    tag: 'mfa',
    errors: [REAUTH, '401 invalid_mfa_code', '409 mfa_not_enabled'],
  },
  // --- social login ---
  getAuthOauthByProviderStart: {
    summary: 'Start a social login (redirect to the provider)',
    tag: 'social login',
    answers: { 302: redirect('To the provider, or to `/login?error=<code>` on a refusal') },
    errors: ['404 not_found'],
  },
  getAuthOauthByProviderCallback: {
    summary: 'Social login callback (the provider sends the browser here)',
    tag: 'social login',
    answers: {
      200: {
        description: 'Signed in: a page whose meta refresh continues to `returnTo`',
        content: { 'text/html': { schema: { type: 'string' } } },
      },
      302: redirect('To `returnTo`, the MFA step, or `/login?error=<code>`'),
    },
    errors: ['404 not_found'],
  },
  getAuthIdentities: { summary: 'List own linked social identities', tag: 'social login' },
  postAuthIdentitiesLink: {
    summary: 'Get a start URL that links a provider to this account',
    tag: 'social login',
    errors: [REAUTH, '404 not_found'],
  },
  deleteAuthIdentitiesById: {
    summary: 'Unlink a social identity',
    tag: 'social login',
    answers: { 204: noContent('Unlinked') },
    errors: [REAUTH, '404 not_found', '409 last_sign_in_method'],
  },
  // --- passkeys ---
  postAuthPasskeysRegisterOptions: {
    summary: 'WebAuthn registration options for a new passkey',
    tag: 'passkeys',
    errors: [REAUTH],
  },
  postAuthPasskeysRegisterVerify: {
    summary: 'Register a passkey',
    tag: 'passkeys',
    errors: [REAUTH, '400 passkey_challenge_invalid', '400 passkey_invalid', '409 passkey_exists'],
  },
  getAuthPasskeys: { summary: 'List own passkeys', tag: 'passkeys' },
  patchAuthPasskeysById: {
    summary: 'Rename a passkey',
    tag: 'passkeys',
    errors: ['404 not_found'],
  },
  deleteAuthPasskeysById: {
    summary: 'Delete a passkey',
    tag: 'passkeys',
    answers: { 204: noContent('Deleted') },
    errors: [REAUTH, '404 not_found', '409 last_sign_in_method'],
  },
  postAuthPasskeysLoginOptions: {
    summary: 'WebAuthn options for a passkey sign-in',
    tag: 'passkeys',
  },
  postAuthPasskeysLoginVerify: {
    summary: 'Sign in with a passkey',
    tag: 'passkeys',
    errors: [
      '400 passkey_challenge_invalid',
      '400 passkey_invalid',
      '401 invalid_credentials',
      '403 email_not_verified',
      '403 password_reset_required',
    ],
  },
  // --- users ---
  getUsersById: {
    summary: 'A user (full view for self and admins)',
    tag: 'users',
    errors: ['404 not_found'],
  },
  putUsersMeAvatar: {
    summary: 'Upload own avatar',
    tag: 'users',
    body: 'image',
    errors: ['422 image_too_large', '422 invalid_image'],
  },
  patchUsersMe: { summary: 'Update own profile', tag: 'users' },
  deleteUsersMe: {
    summary: 'Delete own account',
    tag: 'users',
    answers: { 204: noContent('The account is deleted; every session ended') },
    errors: [REAUTH],
  },
  getUsersMeExport: {
    summary: 'Export everything stored about the caller',
    tag: 'users',
    errors: [REAUTH],
  },
  // --- admin ---
  getAdminUsers: { summary: 'Search users', tag: 'admin' },
  postAdminUsers: {
    summary: 'Invite a user',
    tag: 'admin',
    errors: [REAUTH, '409 email_taken'],
  },
  patchAdminUsersById: {
    summary: "Change a user's roles or lock",
    tag: 'admin',
    errors: [REAUTH, '404 not_found', '409 cannot_modify_self'],
  },
  deleteAdminUsersById: {
    summary: 'Delete a user',
    tag: 'admin',
    answers: { 204: noContent('Deleted; the sessions ended') },
    errors: [REAUTH, '404 not_found', '409 cannot_modify_self'],
  },
  postAdminUsersByIdLogoutAll: {
    summary: 'End every session of a user',
    tag: 'admin',
    answers: { 204: noContent('Every session of the user ended') },
    errors: ['404 not_found'],
  },
  postAdminUsersByIdResetMfa: {
    summary: "Remove a user's second factors",
    tag: 'admin',
    answers: { 204: noContent('TOTP, recovery codes and passkeys removed') },
    errors: [REAUTH, '404 not_found', '409 cannot_modify_self'],
  },
  postAdminUsersByIdRequirePasswordReset: {
    summary: 'Require a new password of a user',
    tag: 'admin',
    answers: { 204: noContent('Required; every session of the user ended') },
    errors: [REAUTH, '404 not_found', '409 cannot_modify_self'],
  },
  postAdminUsersByIdResendVerification: {
    summary: 'Resend the verification mail of a user',
    tag: 'admin',
    errors: ['404 not_found'],
  },
  getAdminAudit: { summary: 'Audit log entries', tag: 'admin' },
  getAdminAuditVerify: { summary: 'Check the audit hash chain', tag: 'admin' },
  getAdminSecurityEvents: { summary: 'Security events', tag: 'admin' },
  getAdminWebhooksDeliveries: { summary: 'Lifecycle webhook deliveries', tag: 'admin' },
  // --- shop ---
  getProducts: { summary: 'List products', tag: 'catalog' },
  postProducts: { summary: 'Create a product', tag: 'catalog' },
  getProductsById: { summary: 'A product', tag: 'catalog', errors: ['404 not_found'] },
  patchProductsById: { summary: 'Update a product', tag: 'catalog', errors: ['404 not_found'] },
  deleteProductsById: {
    summary: 'Delete a product',
    tag: 'catalog',
    answers: { 204: noContent('Deleted') },
    errors: ['404 not_found'],
  },
  putProductsByIdImage: {
    summary: "Upload a product's image",
    tag: 'catalog',
    body: 'image',
    errors: ['404 not_found', '422 image_too_large', '422 invalid_image'],
  },
  getWallet: { summary: 'Own wallet balance', tag: 'wallet' },
  getWalletLedger: { summary: 'Own wallet ledger', tag: 'wallet' },
  postOrders: {
    summary: 'Place an order (paid from the wallet)',
    tag: 'orders',
    headers: ['Idempotency-Key'],
    errors: [
      '400 idempotency_key_required',
      '402 insufficient_funds',
      '403 email_not_verified',
      '409 out_of_stock',
      '409 idempotency_request_in_progress',
      '422 unknown_product',
      '422 idempotency_key_reused',
    ],
  },
  getOrders: { summary: 'List own orders', tag: 'orders' },
  getOrdersById: { summary: 'One of own orders', tag: 'orders', errors: ['404 not_found'] },
  postWebhooksPayments: {
    summary: 'Stripe payment webhook',
    tag: 'payments',
    headers: ['Stripe-Signature'],
    body: 'stripeEvent',
    errors: ['400 invalid_signature', '503 service_unavailable'],
  },
  getPosts: { summary: 'List posts', tag: 'posts' },
  postPosts: {
    summary: 'Create a post',
    tag: 'posts',
    errors: ['403 email_not_verified', '422 empty_content'],
  },
  getPostsById: { summary: 'A post', tag: 'posts', errors: ['404 not_found'] },
  patchPostsById: {
    summary: 'Edit own post',
    tag: 'posts',
    errors: ['403 email_not_verified', '403 forbidden', '404 not_found', '422 empty_content'],
  },
  deletePostsById: {
    summary: 'Delete a post (author, moderator or admin)',
    tag: 'posts',
    answers: { 204: noContent('Deleted') },
    errors: ['403 forbidden', '404 not_found'],
  },
  getPostsByIdComments: {
    summary: "List a post's comments",
    tag: 'posts',
    errors: ['404 not_found'],
  },
  postPostsByIdComments: {
    summary: 'Comment on a post',
    tag: 'posts',
    errors: ['403 email_not_verified', '404 not_found', '422 empty_content'],
  },
  getCommentsById: { summary: 'A comment', tag: 'posts', errors: ['404 not_found'] },
  deleteCommentsById: {
    summary: 'Delete a comment (author, moderator or admin)',
    tag: 'posts',
    answers: { 204: noContent('Deleted') },
    errors: ['403 forbidden', '404 not_found'],
  },
};

/** Routes served outside the JSON API's schemas (hidden from the generator), described here. */
const platformPaths: Json = {
  '/metrics': {
    get: {
      operationId: 'getMetrics',
      description:
        'Prometheus text for scrapers holding `METRICS_TOKEN`; while it is unset the route ' +
        'answers 404 as if absent.',
      responses: {
        200: {
          description: 'Prometheus text exposition format',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
    },
  },
  '/media/{name}': {
    get: {
      operationId: 'getMediaByName',
      description:
        'Uploaded images, re-encoded to WebP, with `Content-Security-Policy: sandbox`, ' +
        '`nosniff`, a strong ETag and a year of immutable caching (names are never reused).',
      parameters: [
        {
          name: 'name',
          in: 'path',
          required: true,
          schema: { type: 'string', maxLength: 64, examples: ['0b1c2d….webp'] },
        },
      ],
      responses: {
        200: {
          description: 'The image',
          headers: { ETag: { schema: { type: 'string' } } },
          content: { 'image/webp': { schema: { type: 'string', format: 'binary' } } },
        },
        304: noContent('Not modified (`If-None-Match` named this image)'),
      },
    },
  },
};

const PROBLEM_SCHEMA: Json = {
  type: 'object',
  description:
    'RFC 9457 problem details. `code` is stable for clients; `errors` lists validation ' +
    'failures; some codes carry more members (`weak_password`: `rule`, `suggestions`; ' +
    '`mfa_required`: `mfaToken`).',
  required: ['type', 'title', 'status', 'code', 'requestId'],
  properties: {
    type: { type: 'string', examples: ['urn:bastion:problem:validation_failed'] },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    code: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
    requestId: { type: 'string', description: 'The id the server log files this request under' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
    rule: { type: 'string' },
    suggestions: { type: 'array', items: { type: 'string' } },
    mfaToken: { type: 'string' },
  },
  additionalProperties: true,
};

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } },
};
const RATE_LIMIT_HEADERS = {
  ...RETRY_AFTER,
  'RateLimit-Limit': { schema: { type: 'integer' } },
  'RateLimit-Remaining': { schema: { type: 'integer' } },
  'RateLimit-Reset': { schema: { type: 'integer' } },
};

const STATUS_TEXT: Record<string, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted' };

const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** The refusals every operation of this shape may answer, whatever its handler does. */
function commonErrors(method: string, op: Json, facts: RouteFacts | undefined): ErrorAnswer[] {
  const out: ErrorAnswer[] = [];
  const params = (op.parameters as unknown[] | undefined)?.length ?? 0;
  if (params > 0 || op.requestBody) out.push('400 validation_failed');
  if (BODY_METHODS.has(method)) {
    out.push('400 malformed_json', '413 payload_too_large', '415 unsupported_media_type');
  }
  if (facts?.rateLimited !== false) out.push('429 rate_limited');
  out.push('500 internal_error');
  return out;
}

function problemResponse(status: number, codes: readonly string[]): Json {
  const headers = status === 429 ? RATE_LIMIT_HEADERS : status === 503 ? RETRY_AFTER : undefined;
  return {
    description: codes.map((c) => `\`${c}\``).join(', '),
    ...(headers ? { headers } : {}),
    content: { 'application/problem+json': problemContent(codes) },
  };
}

function problemContent(codes: readonly string[]): Json {
  return {
    schema: {
      allOf: [
        { $ref: '#/components/schemas/Problem' },
        { type: 'object', properties: { code: { enum: [...codes] } } },
      ],
    },
  };
}

/** Error answers by status, deduplicated, codes sorted. */
export function errorAnswers(answers: readonly string[]): Map<number, string[]> {
  const byStatus = new Map<number, Set<string>>();
  for (const answer of answers) {
    const [status, code] = answer.split(' ');
    const set = byStatus.get(Number(status)) ?? new Set<string>();
    set.add(code ?? '');
    byStatus.set(Number(status), set);
  }
  return new Map(
    [...byStatus.entries()].sort(([a], [b]) => a - b).map(([s, codes]) => [s, [...codes].sort()]),
  );
}

function documentOperation(method: string, op: Json, facts: RouteFacts | undefined): void {
  const id = op.operationId as string;
  const doc = operationDocs[id];
  if (!doc) return; // the contract test names every operation without one
  op.summary = doc.summary;
  op.tags = [doc.tag];
  if (doc.security) op.security = doc.security;
  if (doc.headers) {
    const existing = (op.parameters as Json[] | undefined) ?? [];
    op.parameters = [...existing, ...doc.headers.map((name) => HEADERS[name])];
  }
  if (doc.body) op.requestBody = BODIES[doc.body];
  const responses = { ...((op.responses as Json | undefined) ?? {}) };
  if (doc.answers) {
    // The generated default 200 stood for "no schema given"; the real answers replace it.
    const generated = responses['200'] as Json | undefined;
    if (generated && generated.description === 'Default Response') delete responses['200'];
    Object.assign(responses, structuredClone(doc.answers));
  }
  for (const [status, answer] of Object.entries(responses) as [string, Json][]) {
    if (answer.description === 'Default Response') answer.description = STATUS_TEXT[status] ?? 'OK';
  }
  if (doc.alsoServes) {
    const ok = responses['200'] as Json;
    responses['200'] = { ...ok, content: { ...(ok.content as Json), ...doc.alsoServes } };
  }
  // Load shedding (and, for uploads, the full decode queue) answers 503 `overloaded`.
  const all = [
    ...commonErrors(method, op, facts),
    ...(facts?.gateErrors ?? []),
    ...(doc.errors ?? []),
    ...(doc.shed === false ? [] : ['503 overloaded']),
  ];
  for (const [status, codes] of errorAnswers(all)) {
    const existing = responses[String(status)] as Json | undefined;
    if (existing) {
      // A status the route already answers with its own body (readiness 503) may also be a problem.
      existing.content = {
        ...(existing.content as Json),
        'application/problem+json': problemContent(codes),
      };
      existing.description = `${existing.description ?? ''}; or a problem: ${codes.join(', ')}`;
    } else {
      responses[String(status)] = problemResponse(status, codes);
    }
  }
  op.responses = responses;
}

/** Names of the component schemas a document refers to (transitively). */
function referencedSchemas(document: Json): Set<string> {
  const schemas = ((document.components as Json | undefined)?.schemas ?? {}) as Json;
  const seen = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') {
        const name = child.replace('#/components/schemas/', '');
        if (!seen.has(name)) {
          seen.add(name);
          visit(schemas[name]);
        }
      } else visit(child);
    }
  };
  visit(document.paths);
  return seen;
}

/**
 * Completes the generated document: platform paths, every operation's summary, tag, security,
 * headers, bodies and answers, the `Problem` schema, and no component nobody refers to (the
 * zod registry names each schema for input and output alike).
 */
export function finishDocument<T>(generated: T, facts: ReadonlyMap<string, RouteFacts>): T {
  const document = generated as Json;
  const paths = { ...(document.paths as Json), ...structuredClone(platformPaths) };
  for (const item of Object.values(paths) as Json[]) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (op) documentOperation(method, op, facts.get(op.operationId as string));
    }
  }
  document.paths = paths;
  const components = { ...((document.components as Json | undefined) ?? {}) };
  const schemas: Json = {
    ...((components.schemas as Json | undefined) ?? {}),
    Problem: PROBLEM_SCHEMA,
  };
  components.schemas = schemas;
  document.components = components;
  const used = referencedSchemas(document);
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
  document.tags = [...new Set(Object.values(operationDocs).map((d) => d.tag))].map((name) => ({
    name,
  }));
  return generated;
}
