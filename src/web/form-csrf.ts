/**
 * Synchronizer tokens for the hosted forms (login and register included: a forged login is an
 * attack too). Each browser gets a random, HttpOnly cookie; a form carries `_csrf`, an HMAC of
 * that cookie under a key derived from the master key. Another site can neither read the cookie
 * nor compute the token, and a token copied from another browser does not match this one's
 * cookie. A missing or wrong token is 403 `csrf_failed`, before the body is validated.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify';
import { sessionError } from '../auth/sessions/sessions.errors.js';
import { hmacBase64url, safeEqual } from '../platform/crypto.js';

export interface FormCsrf {
  /** The token for the forms of this page; sets the browser's cookie when it has none. */
  token(request: FastifyRequest, reply: FastifyReply): string;
  /** Refuses a form post whose `_csrf` does not belong to this browser (or a foreign origin). */
  readonly check: preValidationHookHandler;
}

const NONCE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Defence in depth besides the token: a browser's form post must come from our own pages. Pages
 * are served with `Referrer-Policy: no-referrer`, under which browsers send `Origin: null` on
 * every form post, so `Sec-Fetch-Site` is what tells a same-origin post from a forged one; an
 * `Origin` that is not null must still be ours. Clients that send neither rely on the token.
 */
export function pageOriginAllowed(request: FastifyRequest, ownOrigin: string): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = request.headers.origin;
  return origin === undefined || origin === 'null' || origin === ownOrigin;
}

export function formCsrf(key: Buffer, secure: boolean, publicUrl: string): FormCsrf {
  const ownOrigin = new URL(publicUrl).origin;
  const cookie = `${secure ? '__Host-' : ''}bastion_form`;
  const options = { path: '/', secure, httpOnly: true, sameSite: 'lax' as const };
  const tokenOf = (nonce: string) => hmacBase64url(key, `form-csrf:${nonce}`);
  return {
    token(request, reply) {
      let nonce = request.cookies[cookie];
      if (nonce === undefined || !NONCE.test(nonce)) {
        nonce = randomBytes(32).toString('base64url');
        reply.setCookie(cookie, nonce, options);
        // Later code in this request (a re-rendered form) sees the same nonce.
        request.cookies[cookie] = nonce;
      }
      return tokenOf(nonce);
    },
    check(request, _reply, done) {
      if (!pageOriginAllowed(request, ownOrigin)) return done(sessionError('csrf_failed'));
      const body = request.body as Record<string, unknown> | undefined;
      const sent = body?._csrf;
      const nonce = request.cookies[cookie];
      if (
        typeof sent !== 'string' ||
        nonce === undefined ||
        !NONCE.test(nonce) ||
        !safeEqual(sent, tokenOf(nonce))
      ) {
        return done(sessionError('csrf_failed'));
      }
      done();
    },
  };
}
