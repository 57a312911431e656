/**
 * Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a browser that
 * logged in to an account before carries a signed cookie bound to that account, and is exempt
 * from the account's backoff, so an attacker hammering the account cannot lock its owner out.
 * The cookie names the account only through an HMAC: no address or id is readable in it.
 */
import { randomBytes } from 'node:crypto';
import { hmacBase64url, safeEqual } from '../../platform/crypto.js';

export const DEVICE_COOKIE_MAX_AGE = 365 * 86_400;

export function issueDeviceCookie(key: Buffer, accountKey: string): string {
  const nonce = randomBytes(16).toString('base64url');
  return `${nonce}.${hmacBase64url(key, `device:${accountKey}:${nonce}`)}`;
}

/** True when `cookie` has the shape of one we issue (no key needed: a first, cheap filter). */
export function looksLikeDeviceCookie(cookie: string | undefined): cookie is string {
  return cookie !== undefined && cookie.length <= 200 && cookie.indexOf('.') > 0;
}

/** True when `cookie` was issued by us for this account. */
export function isValidDeviceCookie(
  key: Buffer,
  accountKey: string,
  cookie: string | undefined,
): boolean {
  if (!looksLikeDeviceCookie(cookie)) return false;
  const dot = cookie.indexOf('.');
  const nonce = cookie.slice(0, dot);
  return safeEqual(cookie.slice(dot + 1), hmacBase64url(key, `device:${accountKey}:${nonce}`));
}
