/**
 * The MFA challenge token a correct password earns when MFA is on: a JWT of its own type and
 * audience (so the access-token gate refuses it), living 5 minutes, good for 5 code attempts and
 * one successful use.
 */
import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Config } from '../../config.js';
import type { Clock } from '../../platform/clock.js';
import type { SharedState } from '../../platform/state/shared-state.js';
import type { KeyRing } from '../keys/keyring.js';
import { mfaError } from './mfa.errors.js';

export const MFA_TOKEN_TYPE = 'mfa+jwt';
export const MFA_TOKEN_TTL_SECONDS = 300;
export const MFA_MAX_ATTEMPTS = 5;

export class MfaTokens {
  constructor(
    private readonly ring: KeyRing,
    private readonly jwt: Config['jwt'],
    private readonly clock: Clock,
    private readonly state: SharedState,
  ) {}

  private get audience(): string {
    return `${this.jwt.audience}#mfa`;
  }

  async issue(userId: string): Promise<string> {
    const key = this.ring.signingKey();
    const now = Math.floor(this.clock.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: MFA_TOKEN_TYPE })
      .setIssuer(this.jwt.issuer)
      .setAudience(this.audience)
      .setSubject(userId)
      .setIssuedAt(now)
      .setExpirationTime(now + MFA_TOKEN_TTL_SECONDS)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  /**
   * Verifies the token and spends one attempt; throws `invalid_mfa_token` when the token is bad,
   * expired, used, or out of attempts.
   */
  async spendAttempt(token: string): Promise<{ userId: string; challengeId: string }> {
    let sub: string | undefined;
    let jti: string | undefined;
    try {
      ({
        payload: { sub, jti },
      } = await jwtVerify(
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
          requiredClaims: ['sub', 'jti', 'exp'],
        },
      ));
    } catch {
      throw mfaError('invalid_mfa_token');
    }
    if (!sub || !jti) throw mfaError('invalid_mfa_token');
    if (await this.state.get(`mfa-done:${jti}`)) throw mfaError('invalid_mfa_token');
    const attempts = await this.state.incr(`mfa-attempts:${jti}`, MFA_TOKEN_TTL_SECONDS * 1000);
    if (attempts > MFA_MAX_ATTEMPTS) throw mfaError('invalid_mfa_token');
    return { userId: sub, challengeId: jti };
  }

  /** Marks a challenge as used: it cannot log in twice. False when it already was. */
  async complete(challengeId: string): Promise<boolean> {
    return this.state.setIfAbsent(`mfa-done:${challengeId}`, '1', MFA_TOKEN_TTL_SECONDS * 1000);
  }
}
