/**
 * The MFA challenge token a correct password earns when MFA is on: a JWT of its own type and
 * audience (so the access-token gate refuses it), living 5 minutes, good for 5 code attempts and
 * one successful use.
 *
 * It is bound to the login attempt that earned it (issue 8): `/auth/login` also sets a random
 * nonce in an HttpOnly cookie and the token carries the nonce's SHA-256, so a token replayed by
 * anyone but the client that typed the password is refused; and it carries a keyed fingerprint of
 * the account's credentials (password hash, MFA state and secret), so a password change or reset,
 * or MFA turned off (or on again with a new secret) after it was issued, makes it worthless.
 * It also says what the first step proved (`ff`: a password, or a provider for social login), so
 * the session it starts says so in its `amr`.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Config } from '../../config.js';
import type { Clock } from '../../platform/clock.js';
import { hmacBase64url, safeEqual } from '../../platform/crypto.js';
import type { ChallengedFirstFactor, User } from '../../platform/db/schema.js';
import type { SharedState } from '../../platform/state/shared-state.js';
import type { KeyRing } from '../keys/keyring.js';
import { mfaError } from './mfa.errors.js';

export const MFA_TOKEN_TYPE = 'mfa+jwt';
export const MFA_TOKEN_TTL_SECONDS = 300;
export const MFA_MAX_ATTEMPTS = 5;
/** Where the browser sends the challenge cookie: only to the second step of the login. */
export const MFA_COOKIE_PATH = '/auth/login/mfa';

/** What the binding looks at in the account: any change to it voids open challenges. */
export type CredentialState = Pick<
  User,
  'id' | 'password_hash' | 'mfa_enabled' | 'totp_secret_sealed'
>;

/** What a spent attempt tells the second step. */
export interface SpentAttempt {
  readonly userId: string;
  readonly challengeId: string;
  readonly credentialStamp: string;
  readonly firstFactor: ChallengedFirstFactor;
}

export interface IssuedChallenge {
  readonly mfaToken: string;
  /** The value of the challenge cookie; only its SHA-256 is in the token. */
  readonly cookieNonce: string;
}

function nonceDigest(nonce: string): Buffer {
  return createHash('sha256').update(nonce, 'utf8').digest();
}

export class MfaTokens {
  constructor(
    private readonly ring: KeyRing,
    private readonly jwt: Config['jwt'],
    private readonly clock: Clock,
    private readonly state: SharedState,
    /** Keys the credential fingerprint (derived from the master key, so instances agree). */
    private readonly bindingKey: Buffer,
  ) {}

  private get audience(): string {
    return `${this.jwt.audience}#mfa`;
  }

  /** Keyed, so the token reveals nothing about the password hash or the sealed secret. */
  private credentialStamp(user: CredentialState): string {
    const parts = [user.id, user.password_hash, user.mfa_enabled, user.totp_secret_sealed];
    return hmacBase64url(this.bindingKey, JSON.stringify(parts));
  }

  async issue(
    user: CredentialState,
    firstFactor: ChallengedFirstFactor = 'pwd',
  ): Promise<IssuedChallenge> {
    const key = this.ring.signingKey();
    const now = Math.floor(this.clock.now() / 1000);
    const cookieNonce = randomBytes(32).toString('base64url');
    const mfaToken = await new SignJWT({
      nonce_sha256: nonceDigest(cookieNonce).toString('base64url'),
      cred: this.credentialStamp(user),
      ff: firstFactor,
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: MFA_TOKEN_TYPE })
      .setIssuer(this.jwt.issuer)
      .setAudience(this.audience)
      .setSubject(user.id)
      .setIssuedAt(now)
      .setExpirationTime(now + MFA_TOKEN_TTL_SECONDS)
      .setJti(randomUUID())
      .sign(key.privateKey);
    return { mfaToken, cookieNonce };
  }

  /**
   * Verifies the token and its binding to the challenge cookie, then spends one attempt; throws
   * `invalid_mfa_token` when the token is bad, expired, used, out of attempts, or presented
   * without the cookie of the login that earned it. A refused binding spends no attempt, so a
   * thief holding only the token cannot burn the owner's attempts.
   */
  async spendAttempt(token: string, cookieNonce: string | undefined): Promise<SpentAttempt> {
    let claims: {
      sub?: string;
      jti?: string;
      nonce_sha256?: unknown;
      cred?: unknown;
      ff?: unknown;
    };
    try {
      ({ payload: claims } = await jwtVerify(
        token,
        (header) => {
          const key = this.ring.verificationKey(header.kid);
          if (!key || header.alg !== key.alg) throw new Error('key');
          return key.publicKey;
        },
        {
          issuer: this.jwt.issuer,
          audience: this.audience,
          typ: MFA_TOKEN_TYPE,
          currentDate: new Date(this.clock.now()),
          requiredClaims: ['sub', 'jti', 'exp', 'nonce_sha256', 'cred'],
        },
      ));
    } catch {
      throw mfaError('invalid_mfa_token');
    }
    const { sub, jti, nonce_sha256, cred } = claims;
    if (!sub || !jti || typeof nonce_sha256 !== 'string' || typeof cred !== 'string') {
      throw mfaError('invalid_mfa_token');
    }
    // A token issued before `ff` existed (5 minutes at most) came from a password.
    const ff = claims.ff ?? 'pwd';
    if (ff !== 'pwd' && ff !== 'fed') throw mfaError('invalid_mfa_token');
    if (!cookieNonce || cookieNonce.length > 100) throw mfaError('invalid_mfa_token');
    const expected = Buffer.from(nonce_sha256, 'base64url');
    const presented = nonceDigest(cookieNonce);
    if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) {
      throw mfaError('invalid_mfa_token');
    }
    if (await this.state.get(`mfa-done:${jti}`)) throw mfaError('invalid_mfa_token');
    const attempts = await this.state.incr(`mfa-attempts:${jti}`, MFA_TOKEN_TTL_SECONDS * 1000);
    if (attempts > MFA_MAX_ATTEMPTS) throw mfaError('invalid_mfa_token');
    return { userId: sub, challengeId: jti, credentialStamp: cred, firstFactor: ff };
  }

  /**
   * Throws `invalid_mfa_token` unless the account's credentials are what they were when the
   * challenge was issued (no password change or reset, no MFA removal or re-enrolment since).
   */
  assertCredentialsUnchanged(user: CredentialState, credentialStamp: string): void {
    if (!safeEqual(credentialStamp, this.credentialStamp(user))) {
      throw mfaError('invalid_mfa_token');
    }
  }

  /** Marks a challenge as used: it cannot log in twice. False when it already was. */
  async complete(challengeId: string): Promise<boolean> {
    return this.state.setIfAbsent(`mfa-done:${challengeId}`, '1', MFA_TOKEN_TTL_SECONDS * 1000);
  }
}
