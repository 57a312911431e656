/** Account routes: register, verify, login, password recovery and change, own profile. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import { AppError, platformError } from '../../platform/errors.js';
import { perIp, type RateLimits } from '../../platform/rate-limit/rate-limits.js';
import { cookieNames, cookieOptions, setSessionCookies } from '../sessions/cookies.js';
import { endUserSessions, type SessionDeps, startSession } from '../sessions/sessions.service.js';
import {
  Accepted,
  ChangePasswordBody,
  ForgotBody,
  LoginBody,
  LoginResponse,
  RegisterBody,
  ResetBody,
  toSelfView,
  UserEnvelope,
  VerifyEmailBody,
} from './accounts.schemas.js';
import {
  type AccountDeps,
  changePassword,
  checkCredentials,
  forgotPassword,
  notifyNewDevice,
  register,
  resetPassword,
  secureAccount,
  verifyEmail,
} from './accounts.service.js';
import { findUserById } from './accounts.store.js';
import { DEVICE_COOKIE_MAX_AGE, issueDeviceCookie, isValidDeviceCookie } from './device-cookie.js';
import { normalizeEmail } from './email.js';
import type { LoginThrottle } from './login-throttle.js';

export interface AbuseDeps {
  readonly limits: RateLimits;
  readonly throttle: LoginThrottle;
  /** Key for device cookies (derived from the master key, so every instance agrees). */
  readonly deviceKey: Buffer;
}

export function accountRoutes(accounts: AccountDeps, sessions: SessionDeps, abuse: AbuseDeps) {
  const secure = sessions.config.secureCookies;
  const deviceCookie = cookieNames(secure).device;
  const { limits, throttle } = abuse;
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['auth'];

    r.post(
      '/auth/register',
      {
        config: { access: 'public' },
        onRequest: [perIp(limits.register)],
        schema: { tags, body: RegisterBody, response: { 202: Accepted } },
      },
      async (request, reply) => {
        await register(accounts, request.log, request.body);
        return reply.code(202).send({ status: 'verification_sent' as const });
      },
    );

    r.post(
      '/auth/verify-email',
      {
        config: { access: 'public' },
        onRequest: [perIp(limits.token)],
        schema: { tags, body: VerifyEmailBody, response: { 200: UserEnvelope } },
      },
      async (request) => ({ user: toSelfView(await verifyEmail(accounts, request.body.token)) }),
    );

    r.post(
      '/auth/login',
      {
        config: { access: 'public' },
        schema: { tags, body: LoginBody, response: { 200: LoginResponse } },
      },
      async (request, reply) => {
        const accountKey =
          normalizeEmail(request.body.email)?.key ?? request.body.email.toLowerCase();
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
            await throttle.failed(attempt, request.log);
          }
          throw err;
        }
        await throttle.succeeded(attempt);
        if (!attempt.knownDevice) {
          await notifyNewDevice(accounts, request.log, user, {
            ip: request.ip,
            userAgent: request.headers['user-agent'] ?? null,
          });
        }
        reply.setCookie(
          deviceCookie,
          issueDeviceCookie(abuse.deviceKey, accountKey),
          cookieOptions(secure, true, DEVICE_COOKIE_MAX_AGE),
        );
        const issued = await startSession(sessions, user, {
          ip: request.ip,
          userAgent: request.headers['user-agent'] ?? null,
        });
        setSessionCookies(
          reply,
          secure,
          issued.refreshToken,
          issued.csrfToken,
          issued.cookieMaxAge,
        );
        return {
          accessToken: issued.accessToken,
          tokenType: 'Bearer' as const,
          expiresIn: issued.expiresIn,
          csrfToken: issued.csrfToken,
          user: toSelfView(user),
        };
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
        await forgotPassword(accounts, request.log, request.body.email);
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
        return reply.code(204).send();
      },
    );

    r.post(
      '/auth/secure-account',
      {
        config: { access: 'public' },
        onRequest: [perIp(limits.token)],
        schema: { tags, body: VerifyEmailBody },
      },
      async (request, reply) => {
        const userId = await secureAccount(accounts, request.log, request.body.token);
        await endUserSessions(sessions, userId);
        return reply.code(204).send();
      },
    );

    r.post(
      '/auth/password/change',
      {
        config: { access: 'authenticated' },
        schema: { tags, body: ChangePasswordBody, security: [{ bearer: [] }] },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        await changePassword(accounts, request.log, principal.userId, request.body);
        await endUserSessions(sessions, principal.userId, principal.sessionId);
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
