/**
 * `createVerifier`: checks Bastion access tokens (RFC 9068 `at+jwt`) in another service.
 * Discovery (`<issuer>/.well-known/openid-configuration`) names the JWKS and the signing
 * algorithms; jose's remote key set caches the keys and refetches once for an unknown `kid`
 * (at most every 30 s), so a key rotation needs nothing from the service. The algorithm is pinned
 * twice: to the algorithms Bastion publishes (never `none` or an HMAC), and to the `alg` of the
 * key the `kid` names. With `revocations`, the service follows Bastion's revocation feed and
 * refuses a token whose session was revoked, without a call to Bastion per request.
 */
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { VerifyError } from './errors.js';
import { RevocationFeed } from './revocations.js';

export const USER_AGENT = 'bastion-verify/0.1';
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Only asymmetric signatures: a token can never choose `none` or an HMAC keyed by a public key. */
const ASYMMETRIC_ALGS = new Set([
  'EdDSA',
  'Ed25519',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
]);
const MAX_TOKEN_LENGTH = 8192;
const CACHE_MAX = 10_000;
const DISCOVERY_TIMEOUT_MS = 5_000;
const DISCOVERY_RETRY_MS = 1_000;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const BEARER = /^Bearer +(\S+)$/i;

/** Who a verified token speaks for. */
export interface Principal {
  readonly userId: string;
  readonly sessionId: string;
  /** Bastion's roles (`user`, `moderator`, `admin`). */
  readonly roles: readonly string[];
  /** The sign-in passed a second factor (`amr` holds `otp`, or `mfa`: a passkey, or social login with one). */
  readonly mfa: boolean;
  /** When the user signed in, seconds since the epoch (`auth_time`). */
  readonly authTime: number;
  /** The token's `jti`. */
  readonly tokenId: string;
  /** The token's `exp`, seconds since the epoch. */
  readonly expiresAt: number;
}

export interface RevocationOptions {
  /** One of Bastion's `SERVICE_TOKENS`. */
  readonly serviceToken: string;
  /** Default: the discovery document's `revocation_feed_endpoint`. */
  readonly url?: string;
  /**
   * Once the feed has been unreachable this long, every token is refused with 503
   * `revocations_unavailable` rather than accepted without knowing whether it was revoked.
   * Default 60 s; `Infinity` keeps accepting (fail open).
   */
  readonly maxStalenessMs?: number;
  /** How long the first `verify` waits for the backlog before 503 (default 5 s). */
  readonly startupTimeoutMs?: number;
  /** Reconnect backoff (default 250 ms doubling up to 30 s) and dead-stream timeout (45 s). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly idleTimeoutMs?: number;
}

export interface VerifierOptions {
  /** Bastion's `PUBLIC_URL`: the `iss` of every token. */
  readonly issuer: string;
  /** This service's audience (one of Bastion's `JWT_AUDIENCE`); a list accepts any of them. */
  readonly audience: string | readonly string[];
  /** Leeway for `exp` and `nbf`, seconds (default 5). */
  readonly clockToleranceSec?: number;
  readonly revocations?: RevocationOptions;
  /**
   * Where this service reads discovery when the issuer's public address is not the one it can
   * reach (an internal network); default `${issuer}/.well-known/openid-configuration`.
   */
  readonly discoveryUrl?: string;
  /** Overrides the discovery document's `jwks_uri` (same reason). */
  readonly jwksUri?: string;
  /** jose's remote key set: keys kept 10 min, an unknown `kid` refetches at most every 30 s. */
  readonly jwks?: { readonly cacheMaxAgeMs?: number; readonly cooldownMs?: number };
  /** Background failures (the feed's reconnects); default: ignored. */
  readonly onError?: (err: unknown) => void;
}

export interface Verifier {
  /** The principal of a valid, unrevoked token; a `VerifyError` otherwise. */
  verify(token: string): Promise<Principal>;
  /** The same for an `Authorization` header value (`token_missing` without `Bearer <jwt>`). */
  verifyAuthorization(header: string | undefined): Promise<Principal>;
  /** Resolves once discovery has been read and the revocation backlog loaded. */
  ready(): Promise<void>;
  /** Stops following the revocation feed. */
  close(): void;
}

interface Discovered {
  readonly keys: JWTVerifyGetKey;
  readonly algorithms: string[];
  readonly feed: RevocationFeed | undefined;
}

interface DiscoveryDocument {
  issuer?: unknown;
  jwks_uri?: unknown;
  access_token_signing_alg_values_supported?: unknown;
  revocation_feed_endpoint?: unknown;
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

function httpUrl(value: unknown, what: string): string {
  if (typeof value !== 'string' || !/^https?:\/\//.test(value)) {
    throw new VerifyError('bastion_unavailable', `discovery: ${what} is not an http(s) URL`);
  }
  return value;
}

async function readDiscovery(url: string): Promise<DiscoveryDocument> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json', 'user-agent': USER_AGENT },
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (err) {
    throw new VerifyError('bastion_unavailable', `discovery: ${url} unreachable`, { cause: err });
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new VerifyError('bastion_unavailable', `discovery: ${url} answered ${res.status}`);
  }
  return (await res.json()) as DiscoveryDocument;
}

/** jose's error → the kit's code. */
function refusal(err: unknown): VerifyError {
  if (err instanceof VerifyError) return err;
  if (err instanceof errors.JWTExpired) return new VerifyError('token_expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    const byClaim: Record<string, VerifyError['code']> = {
      iss: 'wrong_issuer',
      aud: 'wrong_audience',
      nbf: 'token_not_yet_valid',
      typ: 'wrong_type',
    };
    return new VerifyError(byClaim[err.claim] ?? 'invalid_claims', `claim ${err.claim}`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new VerifyError('algorithm_not_allowed');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new VerifyError('unknown_key');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new VerifyError('invalid_signature');
  }
  if (
    err instanceof errors.JWSInvalid ||
    err instanceof errors.JWTInvalid ||
    err instanceof errors.JOSENotSupported
  ) {
    return new VerifyError('token_malformed');
  }
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new VerifyError('bastion_unavailable', 'jwks', { cause: err });
  }
  return new VerifyError('bastion_unavailable', 'verification failed', { cause: err });
}

function principalOf(payload: JWTPayload): Principal {
  const { sub, sid, jti, exp, roles, amr } = payload as JWTPayload & Record<string, unknown>;
  const authTime = payload.auth_time;
  if (
    typeof sub !== 'string' ||
    typeof sid !== 'string' ||
    typeof jti !== 'string' ||
    typeof exp !== 'number' ||
    typeof authTime !== 'number' ||
    !Array.isArray(roles) ||
    !roles.every((r) => typeof r === 'string') ||
    !Array.isArray(amr)
  ) {
    throw new VerifyError('invalid_claims');
  }
  return {
    userId: sub,
    sessionId: sid,
    roles: Object.freeze([...(roles as string[])]),
    mfa: amr.includes('otp') || amr.includes('mfa'),
    authTime,
    tokenId: jti,
    expiresAt: exp,
  };
}

export function createVerifier(options: VerifierOptions): Verifier {
  const issuer = trimSlash(options.issuer);
  const audience =
    typeof options.audience === 'string' ? [options.audience] : [...options.audience];
  const tolerance = options.clockToleranceSec ?? 5;
  const revocation = options.revocations;
  const maxStalenessMs = revocation?.maxStalenessMs ?? 60_000;
  const cache = new Map<string, Principal>();
  let discovered: Promise<Discovered> | undefined;
  let feed: RevocationFeed | undefined;
  let closed = false;

  async function discover(): Promise<Discovered> {
    const doc = await readDiscovery(
      options.discoveryUrl ?? `${issuer}/.well-known/openid-configuration`,
    );
    if (typeof doc.issuer !== 'string' || trimSlash(doc.issuer) !== issuer) {
      throw new VerifyError('bastion_unavailable', `discovery: issuer is not ${issuer}`);
    }
    const published = Array.isArray(doc.access_token_signing_alg_values_supported)
      ? doc.access_token_signing_alg_values_supported
      : [];
    const algorithms = published.filter(
      (alg): alg is string => typeof alg === 'string' && ASYMMETRIC_ALGS.has(alg),
    );
    if (algorithms.length === 0) {
      throw new VerifyError('bastion_unavailable', 'discovery: no asymmetric signing algorithm');
    }
    const keys = createRemoteJWKSet(new URL(options.jwksUri ?? httpUrl(doc.jwks_uri, 'jwks_uri')), {
      headers: { 'user-agent': USER_AGENT },
      ...(options.jwks?.cacheMaxAgeMs !== undefined
        ? { cacheMaxAge: options.jwks.cacheMaxAgeMs }
        : {}),
      ...(options.jwks?.cooldownMs !== undefined
        ? { cooldownDuration: options.jwks.cooldownMs }
        : {}),
    });
    if (revocation && !closed) {
      feed = new RevocationFeed({
        url: revocation.url ?? httpUrl(doc.revocation_feed_endpoint, 'revocation_feed_endpoint'),
        serviceToken: revocation.serviceToken,
        userAgent: USER_AGENT,
        minBackoffMs: revocation.minBackoffMs,
        maxBackoffMs: revocation.maxBackoffMs,
        idleTimeoutMs: revocation.idleTimeoutMs,
        onError: options.onError,
      });
    }
    return { keys, algorithms, feed };
  }

  /** Discovery once; a failure is retried by a later call (at most every second). */
  function discovery(): Promise<Discovered> {
    if (!discovered) {
      discovered = discover();
      discovered.catch(() => {
        setTimeout(() => {
          discovered = undefined;
        }, DISCOVERY_RETRY_MS).unref();
      });
    }
    return discovered;
  }

  async function feedReady(current: RevocationFeed): Promise<void> {
    if (current.isReady) return;
    const timeoutMs = revocation?.startupTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([current.ready, timeout]);
    clearTimeout(timer);
    if (!current.isReady) {
      throw new VerifyError('revocations_unavailable', 'revocation feed backlog not loaded');
    }
  }

  function unlessRevoked(principal: Principal, current: RevocationFeed | undefined): Principal {
    if (!current) return principal;
    if (current.staleForMs() > maxStalenessMs) {
      throw new VerifyError('revocations_unavailable', 'revocation feed not followed');
    }
    if (current.isRevoked(principal.sessionId)) throw new VerifyError('token_revoked');
    return principal;
  }

  async function verifySignature(token: string, found: Discovered): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, found.keys, {
        algorithms: found.algorithms,
        issuer,
        audience,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: tolerance,
        requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp', 'auth_time'],
      }));
    } catch (err) {
      throw refusal(err);
    }
    const principal = principalOf(payload);
    if (cache.size >= CACHE_MAX) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(token, principal);
    return principal;
  }

  async function verify(token: string): Promise<Principal> {
    if (closed) throw new VerifyError('bastion_unavailable', 'verifier closed');
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) {
      throw new VerifyError('token_malformed');
    }
    const found = await discovery();
    if (found.feed) await feedReady(found.feed);
    const cached = cache.get(token);
    if (cached) {
      if ((cached.expiresAt + tolerance) * 1000 > Date.now()) {
        return unlessRevoked(cached, found.feed);
      }
      cache.delete(token);
    }
    return unlessRevoked(await verifySignature(token, found), found.feed);
  }

  return {
    verify,
    verifyAuthorization(header) {
      const token = header ? BEARER.exec(header)?.[1] : undefined;
      if (!token) return Promise.reject(new VerifyError('token_missing'));
      return verify(token);
    },
    async ready() {
      const found = await discovery();
      if (found.feed) await feedReady(found.feed);
    },
    close() {
      closed = true;
      feed?.close();
      cache.clear();
    },
  };
}
