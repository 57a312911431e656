/**
 * The end of every successful login, whatever proved who it is (password, second factor, social
 * provider): new-device notice, device cookie, session, refresh and CSRF cookies; and the MFA
 * challenge a login answers instead when the account has MFA on.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChallengedFirstFactor, FirstFactor, User } from '../../platform/db/schema.js';
import { MFA_COOKIE_PATH, MFA_TOKEN_TTL_SECONDS, type MfaTokens } from '../mfa/mfa-tokens.js';
import {
  cookieNames,
  cookieOptions,
  mfaCookieName,
  mfaCookieOptions,
  setSessionCookies,
} from '../sessions/cookies.js';
import { type SessionDeps, startSession } from '../sessions/sessions.service.js';
import { toSelfView } from './accounts.schemas.js';
import { type AccountDeps, notifyNewDevice } from './accounts.service.js';
import { DEVICE_COOKIE_MAX_AGE, issueDeviceCookie } from './device-cookie.js';

export interface FinishLoginDeps {
  readonly accounts: AccountDeps;
  readonly sessions: SessionDeps;
  /** Key for device cookies (derived from the master key, so every instance agrees). */
  readonly deviceKey: Buffer;
}

/** Starts the session of a fully authenticated login and returns the login answer's body. */
export async function finishLogin(
  deps: FinishLoginDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  user: User,
  knownDevice: boolean,
  passedMfa: boolean,
  /** A passkey login names its kind (`hwk`, `swk`); social login says `fed`. */
  firstFactor: FirstFactor = 'pwd',
) {
  const secure = deps.sessions.config.secureCookies;
  const meta = { ip: request.ip, userAgent: request.headers['user-agent'] ?? null };
  if (!knownDevice) await notifyNewDevice(deps.accounts, request.log, user, meta);
  reply.setCookie(
    cookieNames(secure).device,
    issueDeviceCookie(deps.deviceKey, user.email_key),
    cookieOptions(secure, true, DEVICE_COOKIE_MAX_AGE),
  );
  const issued = await startSession(deps.sessions, user, meta, passedMfa, firstFactor);
  setSessionCookies(reply, secure, issued.refreshToken, issued.csrfToken, issued.cookieMaxAge);
  return {
    accessToken: issued.accessToken,
    tokenType: 'Bearer' as const,
    expiresIn: issued.expiresIn,
    csrfToken: issued.csrfToken,
    user: toSelfView(user),
  };
}

/**
 * Issues the second-step token of a login whose account has MFA on, bound to the challenge
 * cookie set here: the token works only from the client that passed the first step.
 */
export async function startMfaChallenge(
  tokens: MfaTokens,
  reply: FastifyReply,
  secure: boolean,
  user: User,
  /** What the first step proved: a password, or a provider (social login). */
  firstFactor: ChallengedFirstFactor = 'pwd',
): Promise<string> {
  const { mfaToken, cookieNonce } = await tokens.issue(user, firstFactor);
  reply.setCookie(
    mfaCookieName(secure),
    cookieNonce,
    mfaCookieOptions(secure, MFA_COOKIE_PATH, MFA_TOKEN_TTL_SECONDS),
  );
  return mfaToken;
}
