/**
 * Default deny. Every route declares `config.access`: `public`, `authenticated`, or the roles that
 * may call it. A route without a declaration makes `app.ready()` fail, so it can never be served.
 * The gate for non-public routes is attached to the route itself, so public routes pay nothing.
 */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import { AppError, platformError } from '../platform/errors.js';

const ADMIN_MFA_TITLE =
  'Administrators must use MFA: enrol with POST /auth/mfa/totp/setup and /auth/mfa/totp/confirm, then log in again';

export const ROLES = ['user', 'moderator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Access = 'public' | 'authenticated' | { readonly roles: readonly Role[] };

/** Who made the request, as proven by a verified access token. */
export interface Principal {
  readonly userId: string;
  readonly sessionId: string;
  readonly roles: readonly Role[];
  /** Seconds since the epoch of the login that started the session. */
  readonly authTime: number;
  readonly tokenId: string;
  /** Whether the session's login passed a second factor (`amr` contains `otp`). */
  readonly mfa: boolean;
}

/**
 * Verifies the request's credentials and returns who it is, or throws 401 `unauthorized`. It may
 * answer synchronously (a token already verified) or with a promise (a signature to check).
 */
export type Authenticator = (request: FastifyRequest) => Principal | Promise<Principal>;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** Every registered route with its declared access, for audits and tests. */
    routeAccess(): { method: string; url: string; access: Access | undefined }[];
  }
}

/** Returns the principal of an authenticated route's request (the gate guarantees one). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw platformError('unauthorized');
  return request.principal;
}

export function hasRole(principal: Principal, role: Role): boolean {
  return principal.roles.includes(role);
}

function describe(route: RouteOptions): string {
  const method = Array.isArray(route.method) ? route.method.join(',') : route.method;
  return `${method} ${route.url}`;
}

function isAccess(value: unknown): value is Access {
  if (value === 'public' || value === 'authenticated') return true;
  if (typeof value !== 'object' || value === null) return false;
  const roles = (value as { roles?: unknown }).roles;
  return Array.isArray(roles) && roles.length > 0 && roles.every((r) => ROLES.includes(r as Role));
}

function gate(
  access: Exclude<Access, 'public'>,
  authenticate: Authenticator,
): onRequestHookHandler {
  const roles = access === 'authenticated' ? null : access.roles;
  /** The request's principal may pass this route's roles; else the refusal. */
  const admit = (request: FastifyRequest, principal: Principal): Error | undefined => {
    request.principal = principal;
    if (roles && !roles.some((r) => principal.roles.includes(r))) {
      return platformError('forbidden');
    }
    // An administrator without a second factor may use only what every user may (ASVS V6.3.3).
    if (roles && principal.roles.includes('admin') && !principal.mfa) {
      return new AppError('mfa_enrollment_required', 403, ADMIN_MFA_TITLE);
    }
    return undefined;
  };
  // Callback-style: a cached token is admitted without a promise or a microtask hop.
  return (request, _reply, done) => {
    let outcome: Principal | Promise<Principal>;
    try {
      outcome = authenticate(request);
    } catch (err) {
      return done(err as Error);
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (principal) => done(admit(request, principal)),
        (err: Error) => done(err),
      );
    } else {
      done(admit(request, outcome));
    }
  };
}

/**
 * Installs default deny: collects every route, attaches the gate to non-public ones, and makes
 * `ready()` throw when any route declares no (or an invalid) access.
 */
export function installAccessPolicy(app: FastifyInstance, authenticate: Authenticator): void {
  const routes: RouteOptions[] = [];
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    routes.push(route);
    const access = route.config?.access;
    if (!isAccess(access) || access === 'public') return;
    const existing = route.onRequest ? [route.onRequest].flat() : [];
    route.onRequest = [gate(access, authenticate), ...existing];
  });
  app.decorate('routeAccess', () =>
    routes.flatMap((r) =>
      [r.method].flat().map((method) => ({ method, url: r.url, access: r.config?.access })),
    ),
  );
  app.addHook('onReady', async () => {
    const undeclared = routes.filter((r) => !isAccess(r.config?.access)).map(describe);
    if (undeclared.length > 0) {
      throw new TypeError(`routes without an access declaration: ${undeclared.join('; ')}`);
    }
  });
}

/** Marks every route registered inside `scope` (e.g. a third-party plugin's) as public. */
export function markScopePublic(scope: FastifyInstance): void {
  scope.addHook('onRoute', (route) => {
    route.config = { ...route.config, access: 'public' };
  });
}
