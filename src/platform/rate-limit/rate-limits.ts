/**
 * Every limit Bastion enforces, built once per app from the config, plus the global per-IP
 * hook. Routes compose the ones they need visibly in their own `onRequest` list.
 */
import type {
  FastifyBaseLogger,
  FastifyInstance,
  onRequestHookHandler,
  preHandlerHookHandler,
} from 'fastify';
import type { Config } from '../../config.js';
import type { SharedState } from '../state/shared-state.js';
import { clientKey } from './client-key.js';
import { createLimiter, type Limiter, withHashedKeys } from './limiters.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Health probes: load balancers poll them and must never be throttled. */
    exemptFromRateLimit?: boolean;
  }
}

export interface RateLimits {
  readonly global: Limiter;
  readonly loginIp: Limiter;
  readonly loginAccount: Limiter;
  readonly loginAccountBlock: Limiter;
  readonly loginIpAccount: Limiter;
  readonly register: Limiter;
  readonly forgot: Limiter;
  /** Reset mails per address (known or not), so the cap cannot tell which addresses exist. */
  readonly forgotMails: Limiter;
  /** Registration mails per address (known or not), like `forgotMails` (issue 14, item 6). */
  readonly registerMails: Limiter;
  /** Verification resends per IP (issue 19); sized like forgot-password's per-IP limit. */
  readonly verifyResend: Limiter;
  readonly token: Limiter;
  readonly refresh: Limiter;
  /** Wrong second-factor codes per account, across every MFA challenge (right ones refunded). */
  readonly mfaCodes: Limiter;
  /** Image uploads per account. */
  readonly uploads: Limiter;
  /** Posts and comments per account. */
  readonly content: Limiter;
}

/**
 * `stateKeyKey` keys the hash that limiters keyed by an email address store their keys under
 * (derived from the master key, so every instance agrees): no address in clear in Redis.
 */
export function createRateLimits(
  config: Config,
  state: SharedState,
  log: FastifyBaseLogger,
  stateKeyKey: Buffer,
): RateLimits {
  const l = config.rateLimits;
  const make = (name: string, points: number, durationSeconds: number) =>
    createLimiter(state, { name, points, durationSeconds }, log);
  /** A limiter whose keys hold an email address. */
  const personal = (name: string, points: number, durationSeconds: number) =>
    withHashedKeys(make(name, points, durationSeconds), stateKeyKey);
  return {
    global: make('global', l.globalPerMinute, 60),
    loginIp: make('login-ip', l.loginIpFailures, l.loginIpWindowSeconds),
    // Consecutive failures per account: a long window, reset by a successful login.
    loginAccount: personal('login-account', 1_000_000, 86_400),
    loginAccountBlock: personal('login-account-block', 1, 86_400),
    loginIpAccount: personal(
      'login-ip-account',
      l.loginAccountFreeFailures,
      l.loginIpWindowSeconds,
    ),
    register: make('register', l.registerPerHour, 3600),
    forgot: make('forgot', l.forgotPerHour, 3600),
    forgotMails: personal('forgot-mails', l.forgotMailsPerAccountHour, 3600),
    registerMails: personal('register-mails', l.registerMailsPerAddressHour, 3600),
    verifyResend: make('verify-resend', l.forgotPerHour, 3600),
    token: make('token', l.tokenPerHour, 3600),
    refresh: make('refresh', l.refreshPerMinute, 60),
    mfaCodes: make('mfa-codes', l.mfaCodes, l.mfaWindowSeconds),
    uploads: make('uploads', l.uploadsPerHour, 3600),
    content: make('content', l.contentPerHour, 3600),
  };
}

/** An onRequest hook counting every request of the client against `limiter`. */
export function perIp(limiter: Limiter): onRequestHookHandler {
  // Callback-style: one promise (the limiter's) per request, not three.
  return (request, _reply, done) => {
    limiter.consume(clientKey(request.ip)).then(
      () => done(),
      (err: Error) => done(err),
    );
  };
}

/**
 * A preHandler counting the authenticated caller's requests against `limiter` (the gate has run
 * by then, so the principal is known): a limit that follows the account across addresses.
 */
export function perUser(limiter: Limiter): preHandlerHookHandler {
  return async (request) => {
    if (!request.principal) return;
    await limiter.consume(request.principal.userId);
  };
}

/**
 * The general per-IP limit on every route but the exempt ones (health probes), and on every
 * 404 and 405: those come from the not-found handler, which no route hook reaches, and a path
 * scanner would otherwise never be limited (issue 5).
 */
export function installGlobalRateLimit(app: FastifyInstance, limits: RateLimits): void {
  const limit = perIp(limits.global);
  app.addHook('onRoute', (route) => {
    if (route.config?.exemptFromRateLimit) return;
    const existing = route.onRequest ? [route.onRequest].flat() : [];
    route.onRequest = [limit, ...existing];
  });
  // A root hook runs for routes too; they are counted above, in their own hook list.
  // Callback-style: the routed majority passes without a promise.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) return done();
    limit.call(app, request, reply, done);
  });
}
