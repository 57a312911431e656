/**
 * WebAuthn challenges (issue 15): short-lived, single-use across every instance, kept in shared
 * state only as hashes. A registration challenge is bound to the account that asked for it; a
 * sign-in challenge to the browser that asked for it, through an HttpOnly cookie holding a random
 * nonce (the state key is the nonce's hash). The challenge a browser signed is read from its
 * clientDataJSON, hashed and compared with what was issued; the library then checks the rest.
 */
import { timingSafeEqual } from 'node:crypto';
import { randomToken, sha256Hex } from '../../platform/crypto.js';
import type { SharedState } from '../../platform/state/shared-state.js';

export const PASSKEY_CHALLENGE_TTL_SECONDS = 120;
/** The sign-in challenge cookie is sent only to the sign-in routes. */
export const PASSKEY_COOKIE_PATH = '/auth/passkeys/login';

export function passkeyCookieName(secure: boolean): string {
  return `${secure ? '__Secure-' : ''}bastion_passkey`;
}

const ttlMs = PASSKEY_CHALLENGE_TTL_SECONDS * 1000;
const registrationKey = (userId: string, challenge: string) =>
  `passkey-reg:${userId}:${sha256Hex(challenge)}`;
const loginKey = (nonce: string) => `passkey-login:${sha256Hex(nonce)}`;

/** The challenge a WebAuthn response's clientDataJSON carries; undefined when unreadable. */
export function challengeOf(clientDataJSON: string): string | undefined {
  if (clientDataJSON.length > 8192) return undefined;
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as unknown;
    const challenge = (data as { challenge?: unknown } | null)?.challenge;
    return typeof challenge === 'string' && challenge.length <= 512 ? challenge : undefined;
  } catch {
    return undefined;
  }
}

/** Takes `key` once across every instance: false when unknown, expired or already taken. */
async function takeOnce(state: SharedState, key: string): Promise<string | null> {
  const stored = await state.get(key);
  if (stored === null) return null;
  if (!(await state.setIfAbsent(`${key}:used`, '1', ttlMs))) return null;
  await state.del(key);
  return stored;
}

/** Remembers a registration challenge issued to `userId`. */
export async function rememberRegistration(state: SharedState, userId: string, challenge: string) {
  await state.set(registrationKey(userId, challenge), '1', ttlMs);
}

/** True once for a challenge issued to `userId` (never for another user's). */
export async function takeRegistration(
  state: SharedState,
  userId: string,
  challenge: string | undefined,
): Promise<boolean> {
  if (challenge === undefined) return false;
  return (await takeOnce(state, registrationKey(userId, challenge))) !== null;
}

/** Remembers a sign-in challenge; returns the nonce the browser's cookie carries. */
export async function rememberLogin(state: SharedState, challenge: string): Promise<string> {
  const nonce = randomToken();
  await state.set(loginKey(nonce), sha256Hex(challenge), ttlMs);
  return nonce;
}

/**
 * True once when `challenge` is the one issued to the browser holding `nonce`. The nonce is spent
 * whatever the challenge: a failed try needs new options.
 */
export async function takeLogin(
  state: SharedState,
  nonce: string | undefined,
  challenge: string | undefined,
): Promise<boolean> {
  if (!nonce || nonce.length > 256) return false;
  const stored = await takeOnce(state, loginKey(nonce));
  if (stored === null || challenge === undefined) return false;
  const a = Buffer.from(stored);
  const b = Buffer.from(sha256Hex(challenge));
  return a.length === b.length && timingSafeEqual(a, b);
}
