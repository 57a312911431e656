/**
 * Every refusal of the kit is a `VerifyError` with a stable `code` (for logs and metrics) and the
 * HTTP status a resource server should answer with. The HTTP answers of the Fastify plugin and
 * the Express middleware do not name the code of a token refusal: like Bastion's own gate, every
 * refused token is the same 401 `unauthorized`, so a client learns nothing from a forgery.
 */

export type VerifyErrorCode =
  /** No `Authorization: Bearer <token>` header, or not a JWT's shape. */
  | 'token_missing'
  | 'token_malformed'
  /** Signature does not verify with the published key of that `kid`. */
  | 'invalid_signature'
  /** No published key has the token's `kid` (also after one rate-limited refetch of the JWKS). */
  | 'unknown_key'
  /** `alg` is not one Bastion publishes (`none`, HS256, ...), or not the key's own. */
  | 'algorithm_not_allowed'
  | 'wrong_type'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'token_expired'
  | 'token_not_yet_valid'
  /** A required claim is absent or has the wrong type. */
  | 'invalid_claims'
  /** The token's session was revoked on Bastion (logout, lock, password change, ...). */
  | 'token_revoked'
  /** Discovery or the JWKS could not be read, or the revocation feed is not followed: 503. */
  | 'bastion_unavailable'
  | 'revocations_unavailable'
  /** Helpers: the principal lacks the role (403), or the object is someone else's (404). */
  | 'forbidden'
  | 'not_found';

const STATUS: Record<VerifyErrorCode, number> = {
  token_missing: 401,
  token_malformed: 401,
  invalid_signature: 401,
  unknown_key: 401,
  algorithm_not_allowed: 401,
  wrong_type: 401,
  wrong_issuer: 401,
  wrong_audience: 401,
  token_expired: 401,
  token_not_yet_valid: 401,
  invalid_claims: 401,
  token_revoked: 401,
  bastion_unavailable: 503,
  revocations_unavailable: 503,
  forbidden: 403,
  not_found: 404,
};

export class VerifyError extends Error {
  readonly code: VerifyErrorCode;
  /** The HTTP status to answer with (Fastify's default error handler reads `statusCode`). */
  readonly statusCode: number;

  constructor(code: VerifyErrorCode, message: string = code, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerifyError';
    this.code = code;
    this.statusCode = STATUS[code];
  }
}

/** The problem+json body a resource server answers with (RFC 9457, Bastion's shape). */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
}

const TITLES: Record<number, [code: string, title: string]> = {
  401: ['unauthorized', 'Authentication required'],
  403: ['forbidden', 'Forbidden'],
  404: ['not_found', 'Not found'],
  503: ['service_unavailable', 'Service unavailable'],
};

/** The answer for an error: token refusals collapse to one 401 `unauthorized`. */
export function problemFor(err: VerifyError): {
  status: number;
  body: Problem;
  headers: Record<string, string>;
} {
  const [code, title] = TITLES[err.statusCode] ?? ['internal_error', 'Internal error'];
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (err.statusCode === 401) {
    // RFC 6750 §3.1: no error code when the request carried no token at all.
    headers['www-authenticate'] =
      err.code === 'token_missing' ? 'Bearer' : 'Bearer error="invalid_token"';
  }
  if (err.statusCode === 503) headers['retry-after'] = '5';
  return {
    status: err.statusCode,
    body: { type: `urn:bastion:problem:${code}`, title, status: err.statusCode, code },
    headers,
  };
}
