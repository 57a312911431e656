/**
 * The steps of a password login and of an address verification, shared by the JSON API
 * (accounts.routes.ts) and the hosted pages (web/auth/): the same throttle, the same credential
 * check, the same MFA challenge and cookies, and the session through finish-login.ts. A route
 * only chooses how to answer.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hmacBase64url } from '../../platform/crypto.js';
import type { ChallengedFirstFactor, User } from '../../platform/db/schema.js';
import { AppError } from '../../platform/errors.js';
import type { SheddingExemption } from '../../platform/load-shedding.js';
import type { RateLimits } from '../../platform/rate-limit/rate-limits.js';
import type { BurstAccount } from '../../platform/unauthorized-burst.js';
import { mfaError } from '../mfa/mfa.errors.js';
import { type MfaDeps, verifySecondFactor } from '../mfa/mfa.service.js';
import { MFA_COOKIE_PATH, type MfaTokens } from '../mfa/mfa-tokens.js';
import {
  cookieNames,
  cookieOptions,
  mfaCookieName,
  mfaCookieOptions,
} from '../sessions/cookies.js';
import type { SessionDeps } from '../sessions/sessions.service.js';
import {
  type AccountDeps,
  checkCredentials,
  forgotPassword,
  type PasswordCheckGuard,
  verifyEmail,
} from './accounts.service.js';
import { findUserByEmailKey, findUserById } from './accounts.store.js';
import {
  DEVICE_COOKIE_MAX_AGE,
  issueDeviceCookie,
  isValidDeviceCookie,
  looksLikeDeviceCookie,
} from './device-cookie.js';
import { normalizeEmail } from './email.js';
import { finishLogin, startMfaChallenge } from './finish-login.js';
import type { LoginThrottle } from './login-throttle.js';

export interface AbuseDeps {
  readonly limits: RateLimits;
  readonly throttle: LoginThrottle;
  /** Key for device cookies (derived from the master key, so every instance agrees). */
  readonly deviceKey: Buffer;
  /** Keys the hash an address is counted under in shared state (no address in clear). */
  readonly stateKeyKey: Buffer;
}

export interface MfaLogin {
  readonly tokens: MfaTokens;
  readonly deps: MfaDeps;
}

export interface LoginDeps {
  readonly accounts: AccountDeps;
  readonly sessions: SessionDeps;
  readonly abuse: AbuseDeps;
  readonly mfa: MfaLogin;
}

/** A password login's outcome: done (start the session) or a second factor is due. */
export type PasswordLoginOutcome =
  | { readonly kind: 'authenticated'; readonly user: User; readonly knownDevice: boolean }
  | { readonly kind: 'mfa_required'; readonly mfaToken: string };

/** The key the login limits count an address under (unparseable addresses as typed). */
export function loginAccountKey(email: string): string {
  return normalizeEmail(email)?.key ?? email.toLowerCase();
}

function secureCookies(deps: LoginDeps): boolean {
  return deps.sessions.config.secureCookies;
}

/**
 * The route options every password login declares (the API's and the page's): under a flood,
 * load shedding still lets through a login carrying a device cookie valid for the account it
 * names (issue 5; the HMAC is checked before any limiter, database or hashing work), and refused
 * logins count against the account they name, under a keyed hash of the address, so a burst on
 * one account from many addresses raises a security event.
 */
export function loginGuards(deps: LoginDeps): {
  sheddingExemption: SheddingExemption;
  burstAccount: BurstAccount;
} {
  const deviceCookie = cookieNames(secureCookies(deps)).device;
  const accountKeyOf = (request: FastifyRequest) => {
    const email = (request.body as { email?: unknown } | undefined)?.email;
    return typeof email === 'string' && email.length <= 320 ? loginAccountKey(email) : undefined;
  };
  return {
    sheddingExemption: {
      mayExempt: (request) => looksLikeDeviceCookie(request.cookies[deviceCookie]),
      exempt: (request) => {
        const accountKey = accountKeyOf(request);
        if (accountKey === undefined) return false;
        const cookie = request.cookies[deviceCookie];
        return isValidDeviceCookie(deps.abuse.deviceKey, accountKey, cookie);
      },
    },
    burstAccount: {
      key: (request) => {
        const accountKey = accountKeyOf(request);
        return accountKey === undefined
          ? undefined
          : hmacBase64url(deps.abuse.stateKeyKey, accountKey);
      },
      userId: async (_key, request) => {
        const accountKey = accountKeyOf(request);
        return accountKey === undefined
          ? undefined
          : (await findUserByEmailKey(deps.accounts.db, accountKey))?.id;
      },
    },
  };
}

/** Whether the request carries this browser's device cookie for the account. */
export function isKnownDevice(deps: LoginDeps, request: FastifyRequest, accountKey: string) {
  const cookie = request.cookies[cookieNames(secureCookies(deps)).device];
  return isValidDeviceCookie(deps.abuse.deviceKey, accountKey, cookie);
}

/**
 * Checks a password inside the login throttle. With MFA on it sets the challenge cookie and
 * returns the token the second step needs; otherwise the caller finishes the login.
 */
export async function passwordLogin(
  deps: LoginDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  credentials: { readonly email: string; readonly password: string },
): Promise<PasswordLoginOutcome> {
  const { throttle } = deps.abuse;
  const accountKey = loginAccountKey(credentials.email);
  const attempt = {
    ip: request.ip,
    accountKey,
    knownDevice: isKnownDevice(deps, request, accountKey),
  };
  await throttle.admit(attempt);
  let user: User;
  try {
    user = await checkCredentials(deps.accounts, {
      email: credentials.email,
      password: credentials.password,
      priority: attempt.knownDevice,
    });
  } catch (err) {
    if (err instanceof AppError && err.code === 'invalid_credentials') {
      await throttle.failed(attempt, request.log, async () => {
        return (await findUserByEmailKey(deps.accounts.db, accountKey))?.id;
      });
    } else if (err instanceof AppError && err.code === 'overloaded') {
      // No verdict on the password: the attempt does not count (issue 5).
      await throttle.abandoned(attempt);
    } else if (err instanceof AppError && err.code === 'password_reset_required') {
      // The password was right; the reset link goes out through the forgot-password path (its
      // outbox, token and per-address mail cap), issue 19.
      await throttle.succeeded(attempt);
      await forgotPassword(
        deps.accounts,
        request.log,
        credentials.email,
        deps.abuse.limits.forgotMails,
      );
    }
    throw err;
  }
  await throttle.succeeded(attempt);
  if (!user.mfa_enabled) return { kind: 'authenticated', user, knownDevice: attempt.knownDevice };
  // The token works only with this cookie: bound to the client that typed the password.
  const mfaToken = await startMfaChallenge(deps.mfa.tokens, reply, secureCookies(deps), user);
  return { kind: 'mfa_required', mfaToken };
}

/** The second step: the challenge token with its cookie, and a TOTP or recovery code. */
export async function secondFactorLogin(
  deps: LoginDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  input: { readonly mfaToken: string; readonly code: string },
): Promise<{
  user: User;
  knownDevice: boolean;
  recoveryCodesRemaining: number | undefined;
  /** What the first step proved (a password, or a provider for social login). */
  firstFactor: ChallengedFirstFactor;
}> {
  const secure = secureCookies(deps);
  const mfaCookie = mfaCookieName(secure);
  const { userId, challengeId, credentialStamp, firstFactor } = await deps.mfa.tokens.spendAttempt(
    input.mfaToken,
    request.cookies[mfaCookie],
  );
  const user = await findUserById(deps.accounts.db, userId);
  // A challenge from before "this was not me" or an administrator's "require a password reset"
  // dies with the password login it continued.
  if (
    !user ||
    user.locked ||
    user.password_login_blocked_at !== null ||
    user.password_reset_required_at !== null
  ) {
    throw mfaError('invalid_mfa_token');
  }
  deps.mfa.tokens.assertCredentialsUnchanged(user, credentialStamp);
  const factor = await verifySecondFactor(
    deps.mfa.deps,
    { id: user.id, ip: request.ip },
    input.code,
  );
  // One challenge, one session: a second success with the same token is refused.
  if (!(await deps.mfa.tokens.complete(challengeId))) throw mfaError('invalid_mfa_token');
  reply.clearCookie(mfaCookie, mfaCookieOptions(secure, MFA_COOKIE_PATH, 0));
  return {
    user,
    knownDevice: isKnownDevice(deps, request, user.email_key),
    recoveryCodesRemaining: factor.recoveryCodesRemaining,
    firstFactor,
  };
}

/** Sets the device cookie of an account on this browser. */
export function setDeviceCookie(deps: LoginDeps, reply: FastifyReply, user: User): void {
  const secure = secureCookies(deps);
  reply.setCookie(
    cookieNames(secure).device,
    issueDeviceCookie(deps.abuse.deviceKey, user.email_key),
    cookieOptions(secure, true, DEVICE_COOKIE_MAX_AGE),
  );
}

/** Starts the session of a fully authenticated login (cookies as `POST /auth/login` sets them). */
export async function startLoginSession(
  deps: LoginDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  user: User,
  knownDevice: boolean,
  passedMfa: boolean,
  firstFactor: ChallengedFirstFactor = 'pwd',
): Promise<void> {
  const finish = {
    accounts: deps.accounts,
    sessions: deps.sessions,
    deviceKey: deps.abuse.deviceKey,
  };
  await finishLogin(finish, request, reply, user, knownDevice, passedMfa, firstFactor);
}

/**
 * Verifies an address with its mailed token and the account's password; the password check
 * counts like a login attempt on the account the token names. Sets the device cookie a login
 * would set (the token proved the mailbox and the password the registrant).
 */
export async function verifyEmailLogin(
  deps: LoginDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  input: { readonly token: string; readonly password: string },
): Promise<User> {
  const { throttle } = deps.abuse;
  const guard: PasswordCheckGuard = async (target, check) => {
    const attempt = {
      ip: request.ip,
      accountKey: target.email_key,
      knownDevice: isKnownDevice(deps, request, target.email_key),
    };
    await throttle.admit(attempt);
    let valid: boolean;
    try {
      valid = await check();
    } catch (err) {
      await throttle.abandoned(attempt);
      throw err;
    }
    if (valid) await throttle.succeeded(attempt);
    else await throttle.failed(attempt, request.log, async () => target.id);
    return valid;
  };
  const user = await verifyEmail(deps.accounts, input, guard);
  setDeviceCookie(deps, reply, user);
  return user;
}
