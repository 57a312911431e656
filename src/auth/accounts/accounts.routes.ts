/** Account routes: register, verify, login, password recovery and change, own profile. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import { type AccountChange, auditAccountChange } from '../../platform/audit/account-audit.js';
import type { ChallengedFirstFactor, User } from '../../platform/db/schema.js';
import { platformError } from '../../platform/errors.js';
import { perIp } from '../../platform/rate-limit/rate-limits.js';
import { mfaError } from '../mfa/mfa.errors.js';
import { LoginMfaBody } from '../mfa/mfa.schemas.js';
import { MFA_COOKIE_PATH, MFA_TOKEN_TTL_SECONDS } from '../mfa/mfa-tokens.js';
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
  forgotPassword,
  register,
  resetPassword,
  secureAccount,
} from './accounts.service.js';
import { findUserById } from './accounts.store.js';
import { finishLogin as finishLoginWith } from './finish-login.js';
import {
  type AbuseDeps,
  type LoginDeps,
  loginGuards,
  type MfaLogin,
  passwordLogin,
  secondFactorLogin,
  verifyEmailLogin,
} from './login-flow.js';
import { changePassword } from './password-change.js';
import { resendVerification } from './verify-resend.js';

// The login steps live in login-flow.ts, shared with the hosted pages (issue 15).
export type { AbuseDeps, MfaLogin } from './login-flow.js';

export function accountRoutes(
  accounts: AccountDeps,
  sessions: SessionDeps,
  abuse: AbuseDeps,
  mfa: MfaLogin,
) {
  const { limits, throttle } = abuse;
  const login: LoginDeps = { accounts, sessions, abuse, mfa };
  const audit = (request: FastifyRequest, change: Omit<AccountChange, 'ip'>) =>
    auditAccountChange(accounts.audit, accounts.db, accounts.clock, request.log, {
      ...change,
      ip: request.ip,
    });
  // Load-shedding exemption for known devices and per-account burst counting (issue 5).
  const { sheddingExemption: knownDeviceLogin, burstAccount: loginBurst } = loginGuards(login);
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
      firstFactor: ChallengedFirstFactor = 'pwd',
    ) =>
      finishLoginWith(
        { accounts, sessions, deviceKey: abuse.deviceKey },
        request,
        reply,
        user,
        knownDevice,
        passedMfa,
        firstFactor,
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
        // The password check counts like a login attempt on the account the token names. The
        // token proved the mailbox and the password the registrant, more than a login proves:
        // this browser gets the device cookie a login would set, so its first login is no "new
        // device". Registering alone sets nothing (the address may be someone else's).
        const user = await verifyEmailLogin(login, request, reply, request.body);
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
        const outcome = await passwordLogin(login, request, reply, request.body);
        if (outcome.kind === 'mfa_required') {
          throw mfaError('mfa_required', { mfaToken: outcome.mfaToken });
        }
        return finishLogin(request, reply, outcome.user, outcome.knownDevice, false);
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
        const done = await secondFactorLogin(login, request, reply, request.body);
        const body = await finishLogin(
          request,
          reply,
          done.user,
          done.knownDevice,
          true,
          done.firstFactor,
        );
        // A used recovery code was audited with its use, in one transaction.
        if (done.recoveryCodesRemaining === undefined) return body;
        return { ...body, recoveryCodesRemaining: done.recoveryCodesRemaining };
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
      '/auth/verify-email/resend',
      {
        config: { access: 'public' },
        onRequest: [perIp(limits.verifyResend)],
        schema: {
          tags,
          description:
            'Mails a fresh verification link (the older ones die) when the address belongs to ' +
            'an unverified account; answers the same 202 for any address. Verification mails ' +
            'share the per-address cap of registration mails; requests are limited per IP.',
          body: ForgotBody,
          response: { 202: Accepted },
        },
      },
      async (request, reply) => {
        await resendVerification(accounts, request.log, request.body.email, limits.registerMails);
        return reply.code(202).send({ status: 'verification_sent' as const });
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
