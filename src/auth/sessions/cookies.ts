/**
 * Cookie names and attributes. Over HTTPS the `__Host-` prefix pins a cookie to this exact
 * origin (Secure, Path=/, no Domain); on plain-HTTP development the prefix and Secure drop.
 */
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply } from 'fastify';

export interface CookieNames {
  readonly refresh: string;
  readonly csrf: string;
  readonly device: string;
}

export function cookieNames(secure: boolean): CookieNames {
  const prefix = secure ? '__Host-' : '';
  return {
    refresh: `${prefix}bastion_refresh`,
    csrf: `${prefix}bastion_csrf`,
    device: `${prefix}bastion_device`,
  };
}

/**
 * The MFA challenge cookie (issue 8). It is scoped to the second login step's path, which the
 * `__Host-` prefix forbids (it requires `Path=/`), so over HTTPS it takes `__Secure-`: still
 * Secure-only and never settable over plain HTTP, and with no Domain it stays host-only.
 */
export function mfaCookieName(secure: boolean): string {
  return `${secure ? '__Secure-' : ''}bastion_mfa`;
}

/** Attributes of the MFA challenge cookie: HttpOnly, SameSite=Strict, sent only to `path`. */
export function mfaCookieOptions(secure: boolean, path: string, maxAgeSeconds: number) {
  return { ...cookieOptions(secure, true, maxAgeSeconds), path };
}

export function cookieOptions(secure: boolean, httpOnly: boolean, maxAgeSeconds: number) {
  return {
    path: '/',
    secure,
    httpOnly,
    sameSite: 'strict',
    maxAge: maxAgeSeconds,
  } satisfies CookieSerializeOptions;
}

/** Sets the refresh cookie (HttpOnly) and the readable CSRF cookie for a session. */
export function setSessionCookies(
  reply: FastifyReply,
  secure: boolean,
  refreshToken: string,
  csrfToken: string,
  maxAgeSeconds: number,
): void {
  const names = cookieNames(secure);
  reply.setCookie(names.refresh, refreshToken, cookieOptions(secure, true, maxAgeSeconds));
  reply.setCookie(names.csrf, csrfToken, cookieOptions(secure, false, maxAgeSeconds));
}

export function clearSessionCookies(reply: FastifyReply, secure: boolean): void {
  const names = cookieNames(secure);
  reply.clearCookie(names.refresh, cookieOptions(secure, true, 0));
  reply.clearCookie(names.csrf, cookieOptions(secure, false, 0));
}
