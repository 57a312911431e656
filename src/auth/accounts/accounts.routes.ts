/** Account routes: register, verify, login, password recovery and change, own profile. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import { type AccountChange, auditAccountChange } from '../../platform/audit/account-audit.js';
import { hmacBase64url } from '../../platform/crypto.js';
import type { User } from '../../platform/db/schema.js';
import { AppError, platformError } from '../../platform/errors.js';
import type { SheddingExemption } from '../../platform/load-shedding.js';
import { perIp, type RateLimits } from '../../platform/rate-limit/rate-limits.js';
import type { BurstAccount } from '../../platform/unauthorized-burst.js';
import { mfaError } from '../mfa/mfa.errors.js';
import { LoginMfaBody } from '../mfa/mfa.schemas.js';
import { type MfaDeps, verifySecondFactor } from '../mfa/mfa.service.js';
import { MFA_COOKIE_PATH, MFA_TOKEN_TTL_SECONDS, type MfaTokens } from '../mfa/mfa-tokens.js';
import {
  cookieNames,
  cookieOptions,
  mfaCookieName,
  mfaCookieOptions,
} from '../sessions/cookies.js';
import { endUserSessions, type SessionDeps } from '../sessions/sessions.service.js';
import {
  Accepted,
  ChangePasswordBody,
  ForgotBody,
  LoginBody,
  LoginResponse,
  RegisterBody,
  ResetBody,
  TokenBody,
  toSelfView,
  UserEnvelope,
  VerifyEmailBody,
} from './accounts.schemas.js';
import {
  type AccountDeps,
  checkCredentials,
  forgotPassword,
  type PasswordCheckGuard,
  register,
  resetPassword,
  secureAccount,
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
import { finishLogin as finishLoginWith, startMfaChallenge } from './finish-login.js';
import type { LoginThrottle } from './login-throttle.js';
import { changePassword } from './password-change.js';

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

/** The key the login limits count an address under (unparseable addresses as typed). */
function loginAccountKey(email: string): string {
  return normalizeEmail(email)?.key ?? email.toLowerCase();
}

export function accountRoutes(
  accounts: AccountDeps,
  sessions: SessionDeps,
  abuse: AbuseDeps,
  mfa: MfaLogin,
) {
  const secure = sessions.config.secureCookies;
  const deviceCookie = cookieNames(secure).device;
  const mfaCookie = mfaCookieName(secure);
  const { limits, throttle } = abuse;
  const audit = (request: FastifyRequest, change: Omit<AccountChange, 'ip'>) =>
    auditAccountChange(accounts.audit, accounts.db, accounts.clock, request.log, {
      ...change,
      ip: request.ip,
    });
  /**
   * Under a flood, load shedding still lets through a login that carries a device cookie valid
   * for the account it names (issue 5): the owner of a known device can log in while everyone
   * else gets 503. The HMAC is checked before any limiter, database or hashing work.
   */
  const knownDeviceLogin: SheddingExemption = {
    mayExempt: (request) => looksLikeDeviceCookie(request.cookies[deviceCookie]),
    exempt: (request) => {
      const body = request.body as { email: string };
      const cookie = request.cookies[deviceCookie];
      return isValidDeviceCookie(abuse.deviceKey, loginAccountKey(body.email), cookie);
    },
  };
  /**
   * Refused logins count against the account they name, as the throttle keys it, so a burst on
   * one account from many addresses raises a security event (issue 5).
   */
  const burstEmail = (request: FastifyRequest) => {
    const email = (request.body as { email?: unknown } | undefined)?.email;
    return typeof email === 'string' && email.length <= 320 ? loginAccountKey(email) : undefined;
  };
  const loginBurst: BurstAccount = {
    // Counted in shared state under a keyed hash of the address, never the address itself.
    key: (request) => {
      const accountKey = burstEmail(request);
      return accountKey === undefined ? undefined : hmacBase64url(abuse.stateKeyKey, accountKey);
    },
    userId: async (_key, request) => {
      const accountKey = burstEmail(request);
      return accountKey === undefined
        ? undefined
        : (await findUserByEmailKey(accounts.db, accountKey))?.id;
    },
  };
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['auth'];

    /** Starts the session of a fully authenticated login and answers like the contract says. */
    const finishLogin = (
      request: FastifyRequest,
      reply: FastifyReply,
      user: User,
      knownDevice: boolean,
      passedMfa: boolean,
    ) =>
      finishLoginWith(
        { accounts, sessions, deviceKey: abuse.deviceKey },
        request,
        reply,
        user,
        knownDevice,
        passedMfa,
      );

    r.post(
      '/auth/register',
      {
        config: { access: 'public' },
        onRequest: [perIp(limits.register)],
        schema: { tags, body: RegisterBody, response: { 202: Accepted } },
      },
      async (request, reply) => {
        await register(accounts, request.log, request.body, limits.registerMails);
        return reply.code(202).send({ status: 'verification_sent' as const });
      },
    );

    r.post(
      '/auth/verify-email',
      {
        config: { access: 'public' },
        onRequest: [perIp(limits.token)],
        schema: {
          tags,
          description:
            "Whoever verifies must know the account's password: a wrong one is 401 " +
            '`invalid_credentials` and leaves the token usable; a used, expired or unknown ' +
            'token is 400 `invalid_token`. Wrong passwords count in the login throttle.',
          body: VerifyEmailBody,
          response: { 200: UserEnvelope },
        },
      },
      async (request, reply) => {
        // The password check counts like a login attempt on the account the token names.
        const guard: PasswordCheckGuard = async (target, check) => {
          const attempt = {
            ip: request.ip,
            accountKey: target.email_key,
            knownDevice: isValidDeviceCookie(
              abuse.deviceKey,
              target.email_key,
              request.cookies[deviceCookie],
            ),
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
        const user = await verifyEmail(accounts, request.body, guard);
        // The token proved the mailbox and the password the registrant, more than a login
        // proves: this browser gets the device cookie a login would set, so its first login is
        // no "new device". Registering alone sets nothing (the address may be someone else's).
        reply.setCookie(
          deviceCookie,
          issueDeviceCookie(abuse.deviceKey, user.email_key),
          cookieOptions(secure, true, DEVICE_COOKIE_MAX_AGE),
        );
        await audit(request, { userId: user.id, action: 'account.email_verified' });
        return { user: toSelfView(user) };
      },
    );

    r.post(
      '/auth/login',
      {
        config: { access: 'public', sheddingExemption: knownDeviceLogin, burstAccount: loginBurst },
        schema: {
          tags,
          description:
            'With MFA on, a correct password answers 401 `mfa_required` with an `mfaToken` and ' +
            'sets the challenge cookie `bastion_mfa` (`__Secure-bastion_mfa` over HTTPS; ' +
            `HttpOnly, SameSite=Strict, Path=${MFA_COOKIE_PATH}, ${MFA_TOKEN_TTL_SECONDS} s). ` +
            'The token is bound to that cookie: send both to POST /auth/login/mfa. Clients ' +
            'that are not browsers must keep the cookie from this response and send it back.',
          body: LoginBody,
          response: { 200: LoginResponse },
        },
      },
      async (request, reply) => {
        const accountKey = loginAccountKey(request.body.email);
        const attempt = {
          ip: request.ip,
          accountKey,
          knownDevice: isValidDeviceCookie(
            abuse.deviceKey,
            accountKey,
            request.cookies[deviceCookie],
          ),
        };
        await throttle.admit(attempt);
        let user: Awaited<ReturnType<typeof checkCredentials>>;
        try {
          user = await checkCredentials(accounts, {
            ...request.body,
            priority: attempt.knownDevice,
          });
        } catch (err) {
          if (err instanceof AppError && err.code === 'invalid_credentials') {
            await throttle.failed(attempt, request.log, async () => {
              return (await findUserByEmailKey(accounts.db, accountKey))?.id;
            });
          } else if (err instanceof AppError && err.code === 'overloaded') {
            // No verdict on the password: the attempt does not count (issue 5).
            await throttle.abandoned(attempt);
          }
          throw err;
        }
        await throttle.succeeded(attempt);
        if (user.mfa_enabled) {
          // The token works only with this cookie: bound to the client that typed the password.
          const mfaToken = await startMfaChallenge(mfa.tokens, reply, secure, user);
          throw mfaError('mfa_required', { mfaToken });
        }
        return finishLogin(request, reply, user, attempt.knownDevice, false);
      },
    );

    r.post(
      '/auth/login/mfa',
      {
        config: { access: 'public' },
        schema: {
          tags,
          description:
            'Completes a login that answered `mfa_required`. Requires the challenge cookie that ' +
            'response set (browsers send it by themselves; other clients must send it back): ' +
            "an mfaToken without it, with another login's cookie, or issued before a password " +
            'change or reset or an MFA removal is 401 `invalid_mfa_token`.',
          body: LoginMfaBody,
          response: { 200: LoginResponse },
        },
      },
      async (request, reply) => {
        const { userId, challengeId, credentialStamp } = await mfa.tokens.spendAttempt(
          request.body.mfaToken,
          request.cookies[mfaCookie],
        );
        const user = await findUserById(accounts.db, userId);
        // A challenge from before "this was not me" dies with the password login it continued.
        if (!user || user.locked || user.password_login_blocked_at !== null) {
          throw mfaError('invalid_mfa_token');
        }
        mfa.tokens.assertCredentialsUnchanged(user, credentialStamp);
        const factor = await verifySecondFactor(
          mfa.deps,
          { id: user.id, ip: request.ip },
          request.body.code,
        );
        // One challenge, one session: a second success with the same token is refused.
        if (!(await mfa.tokens.complete(challengeId))) throw mfaError('invalid_mfa_token');
        reply.clearCookie(mfaCookie, mfaCookieOptions(secure, MFA_COOKIE_PATH, 0));
        const knownDevice = isValidDeviceCookie(
          abuse.deviceKey,
          user.email_key,
          request.cookies[deviceCookie],
        );
        const body = await finishLogin(request, reply, user, knownDevice, true);
        // A used recovery code was audited with its use, in one transaction.
        if (factor.recoveryCodesRemaining === undefined) return body;
        return { ...body, recoveryCodesRemaining: factor.recoveryCodesRemaining };
      },
    );

    r.post(
      '/auth/password/forgot',
      {
        config: { access: 'public' },
        onRequest: [perIp(limits.forgot)],
        schema: { tags, body: ForgotBody },
      },
      async (request, reply) => {
        await forgotPassword(accounts, request.log, request.body.email, limits.forgotMails);
        return reply.code(202).send();
      },
    );

    r.post(
      '/auth/password/reset',
      {
        config: { access: 'public' },
        onRequest: [perIp(limits.token)],
        schema: { tags, body: ResetBody },
      },
      async (request, reply) => {
        const user = await resetPassword(accounts, request.log, request.body);
        await endUserSessions(sessions, user.id);
        await audit(request, { userId: user.id, action: 'account.password_reset' });
        return reply.code(204).send();
      },
    );

    r.post(
      '/auth/secure-account',
      {
        config: { access: 'public' },
        onRequest: [perIp(limits.token)],
        schema: { tags, body: TokenBody },
      },
      async (request, reply) => {
        const userId = await secureAccount(accounts, request.log, request.body.token);
        await endUserSessions(sessions, userId);
        await audit(request, { userId, action: 'account.secured' });
        return reply.code(204).send();
      },
    );

    r.post(
      '/auth/password/change',
      {
        config: { access: 'authenticated' },
        schema: {
          tags,
          description:
            'The new password is checked against the policy first (400 `weak_password`, ' +
            'whatever `currentPassword` is). With MFA on, `code` (TOTP or recovery code) is ' +
            'required: missing, 401 `mfa_required`; wrong, 401 `invalid_mfa_code` (counted in ' +
            "the account's code budget). A wrong `currentPassword` is 403 `invalid_credentials` " +
            'and counts in the login throttle of the account and address (429 `rate_limited` ' +
            'with `Retry-After` past the budget); one account holds at most `HASH_PER_ACCOUNT` ' +
            'hash-pool places (429 beyond). Live reset and "this was not me" links die.',
          body: ChangePasswordBody,
          security: [{ bearer: [] }],
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        await changePassword(
          { accounts, throttle, mfa: mfa.deps },
          request.log,
          { userId: principal.userId, ip: request.ip },
          request.body,
        );
        await endUserSessions(sessions, principal.userId, principal.sessionId);
        await audit(request, { userId: principal.userId, action: 'account.password_changed' });
        return reply.code(204).send();
      },
    );

    r.get(
      '/auth/me',
      {
        config: { access: 'authenticated' },
        schema: { tags, response: { 200: UserEnvelope }, security: [{ bearer: [] }] },
      },
      async (request) => {
        const user = await findUserById(accounts.db, principalOf(request).userId);
        if (!user) throw platformError('unauthorized');
        return { user: toSelfView(user) };
      },
    );
  };
}
