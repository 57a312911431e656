/**
 * The short-lived cookie that binds a social sign-in to the browser that started it: state,
 * nonce, PKCE verifier, returnTo and the browser's device cookie, sealed (AES-256-GCM, a key
 * derived from the master key, so any instance opens it) under the provider's name. `SameSite=Lax`
 * because the provider's redirect back is a cross-site top-level navigation.
 */
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import { seal, unseal } from '../../platform/crypto.js';

export const FLOW_TTL_SECONDS = 600;

const FlowPayload = z.object({
  state: z.string(),
  nonce: z.string(),
  verifier: z.string(),
  returnTo: z.string(),
  /** The device cookie the browser sent at start: the callback's own is SameSite=Strict. */
  device: z.string().nullable(),
  expiresAt: z.number(),
  /** Set when the signed-in account asked to link this provider (a link grant). */
  link: z.object({ userId: z.string(), sessionId: z.string() }).nullable().default(null),
});
export type FlowPayload = z.infer<typeof FlowPayload>;

export function flowCookieName(secure: boolean): string {
  return `${secure ? '__Host-' : ''}bastion_oauth`;
}

export function flowCookieOptions(secure: boolean, maxAgeSeconds: number) {
  return {
    path: '/',
    secure,
    httpOnly: true,
    sameSite: 'lax' as const,
    maxAge: maxAgeSeconds,
  };
}

export function sealFlow(key: Buffer, provider: string, flow: z.input<typeof FlowPayload>): string {
  return seal(key, JSON.stringify(flow), `oauth-flow:${provider}`);
}

/** The flow in the cookie, or undefined when it is missing, forged, another provider's, or old. */
export function openFlow(
  key: Buffer,
  provider: string,
  cookie: string | undefined,
  clock: Clock,
): FlowPayload | undefined {
  if (!cookie || cookie.length > 4096) return undefined;
  try {
    const flow = FlowPayload.parse(JSON.parse(unseal(key, cookie, `oauth-flow:${provider}`)));
    return flow.expiresAt > clock.now() ? flow : undefined;
  } catch {
    return undefined;
  }
}

/** A same-origin relative path, else the default: no `//host`, no `/\host`, no scheme. */
export function safeReturnTo(raw: string | undefined): string {
  const fallback = '/account';
  if (!raw?.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return fallback;
  // Control characters and backslashes let browsers read a path as another origin.
  if (/[\p{Cc}\\]/u.test(raw)) return fallback;
  try {
    const base = new URL('http://bastion.invalid');
    const url = new URL(raw, base);
    if (url.origin !== base.origin) return fallback;
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return fallback;
  }
}
