/**
 * Access tokens (RFC 9068 `at+jwt`): signed with the ring's current key, verified by `kid` from
 * the local ring only (never a key named by the token: `jku`, `jwk`, `x5u` are ignored), with the
 * algorithm pinned to the key's own. Verified tokens are cached until their `exp`, so a warm
 * request costs a map look-up; the session revocation check still runs on every request.
 */
import { randomUUID } from 'node:crypto';
import { type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { type Principal, ROLES, type Role } from '../../access/policy.js';
import type { Config } from '../../config.js';
import type { Clock } from '../../platform/clock.js';
import type { FirstFactor } from '../../platform/db/schema.js';
import type { KeyRing } from '../keys/keyring.js';
import type { Revocations } from '../sessions/revocations.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
const ACCEPTED_ALGS = ['EdDSA', 'ES256', 'RS256'];
const CACHE_MAX = 10_000;

export interface IssueInput {
  readonly userId: string;
  readonly sessionId: string;
  readonly roles: readonly Role[];
  /** Seconds since the epoch. */
  readonly authTime: number;
  /** The login passed a second factor. */
  readonly mfa: boolean;
  /** What proved the first factor; a passkey is phishing-resistant MFA on its own. */
  readonly firstFactor?: FirstFactor;
}

/**
 * RFC 8176 method references: `["pwd"]`, `["pwd", "otp"]` after a TOTP or recovery code,
 * `["hwk", "mfa"]` / `["swk", "mfa"]` for a device-bound / synced passkey, and for social login
 * `["fed"]`, or `["fed", "mfa"]` after a second factor (Bastion's TOTP or one the provider
 * reported and the operator accepts).
 */
export function amrOf(mfa: boolean, firstFactor: FirstFactor = 'pwd'): string[] {
  switch (firstFactor) {
    case 'hwk':
    case 'swk':
      return [firstFactor, 'mfa'];
    case 'fed':
      return mfa ? ['fed', 'mfa'] : ['fed'];
    case 'pwd':
      return mfa ? ['pwd', 'otp'] : ['pwd'];
  }
}

interface CacheEntry {
  readonly principal: Principal;
  readonly expiresAtMs: number;
}

/** Thrown for any token that must not be accepted; the gate turns it into 401. */
export class InvalidAccessToken extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidAccessToken';
  }
}

function principalFrom(payload: JWTPayload): Principal {
  const {
    sub,
    sid,
    roles,
    auth_time: authTime,
    jti,
    amr,
  } = payload as JWTPayload & {
    sid?: unknown;
    roles?: unknown;
    auth_time?: unknown;
    amr?: unknown;
  };
  if (
    typeof sub !== 'string' ||
    typeof sid !== 'string' ||
    typeof jti !== 'string' ||
    typeof authTime !== 'number' ||
    !Array.isArray(roles) ||
    !roles.every((r) => ROLES.includes(r as Role)) ||
    !Array.isArray(amr)
  ) {
    throw new InvalidAccessToken('claims');
  }
  return {
    userId: sub,
    sessionId: sid,
    roles: roles as Role[],
    authTime,
    tokenId: jti,
    mfa: amr.includes('otp') || amr.includes('mfa'),
  };
}

export class AccessTokens {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly ring: KeyRing,
    private readonly jwt: Config['jwt'],
    private readonly clock: Clock,
    private readonly revocations: Revocations,
  ) {}

  /** One audience as a string (as before), several as the array RFC 7519 allows. */
  private get audience(): string | string[] {
    const [only, ...more] = this.jwt.audiences;
    return only !== undefined && more.length === 0 ? only : [...this.jwt.audiences];
  }

  get ttlSeconds(): number {
    return this.jwt.accessTokenTtlSeconds;
  }

  async issue(input: IssueInput): Promise<string> {
    const key = this.ring.signingKey();
    const now = Math.floor(this.clock.now() / 1000);
    return new SignJWT({
      sid: input.sessionId,
      roles: [...input.roles],
      auth_time: input.authTime,
      amr: amrOf(input.mfa, input.firstFactor),
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.jwt.issuer)
      .setAudience(this.audience)
      .setSubject(input.userId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + this.jwt.accessTokenTtlSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  /**
   * The principal of a token verified before and not expired, at once (no promise: the common
   * case of every authenticated request); undefined when it is not in the cache. Throws
   * InvalidAccessToken when its session is revoked. A cached token matched the bearer syntax
   * when it was first verified.
   */
  verifyCached(token: string): Principal | undefined {
    const cached = this.cache.get(token);
    if (cached === undefined) return undefined;
    if (cached.expiresAtMs <= this.clock.now()) {
      this.cache.delete(token);
      return undefined;
    }
    return this.unlessRevoked(cached.principal);
  }

  /** Returns the principal of a valid, unrevoked token; throws InvalidAccessToken otherwise. */
  async verify(token: string): Promise<Principal> {
    return (
      this.verifyCached(token) ??
      this.unlessRevoked(await this.verifySignature(token, this.clock.now()))
    );
  }

  private unlessRevoked(principal: Principal): Principal {
    if (this.revocations.isRevoked(principal.sessionId)) throw new InvalidAccessToken('revoked');
    return principal;
  }

  private async verifySignature(token: string, now: number): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = this.ring.verificationKey(header.kid);
          // The algorithm is the key's, not the token's choice.
          if (!key || header.alg !== key.alg) throw new InvalidAccessToken('key');
          return key.publicKey;
        },
        {
          algorithms: ACCEPTED_ALGS,
          issuer: this.jwt.issuer,
          audience: [...this.jwt.audiences],
          typ: ACCESS_TOKEN_TYPE,
          clockTolerance: this.jwt.clockToleranceSeconds,
          currentDate: new Date(now),
          requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp', 'auth_time'],
        },
      ));
    } catch (err) {
      if (err instanceof InvalidAccessToken) throw err;
      throw new InvalidAccessToken('verification');
    }
    const principal = principalFrom(payload);
    const expiresAtMs = ((payload.exp as number) + this.jwt.clockToleranceSeconds) * 1000;
    if (this.cache.size >= CACHE_MAX) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(token, { principal, expiresAtMs });
    return principal;
  }
}
