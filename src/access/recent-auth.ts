/**
 * Sensitive actions need a recent login: the token's `auth_time` within 5 minutes, else 401
 * `reauthentication_required` (ASVS V7.5.1).
 */
import type { preHandlerHookHandler } from 'fastify';
import type { Clock } from '../platform/clock.js';
import { AppError } from '../platform/errors.js';
import { principalOf } from './policy.js';

export const RECENT_AUTH_SECONDS = 300;

/**
 * 401 `reauthentication_required`, the one refusal for a login that is not recent enough. The
 * API asks to log in again; the hosted pages (`'page'`) to log out and sign in again.
 */
export function reauthenticationRequired(wording: 'api' | 'page' = 'api'): AppError {
  const minutes = RECENT_AUTH_SECONDS / 60;
  return new AppError(
    'reauthentication_required',
    401,
    wording === 'page'
      ? `Log out and sign in again to do this (the last sign-in is over ${minutes} minutes old)`
      : `Log in again to do this (the last login is over ${minutes} minutes old)`,
  );
}

export function requireRecentAuth(clock: Clock): preHandlerHookHandler {
  return async (request) => {
    const { authTime } = principalOf(request);
    if (clock.now() / 1000 - authTime > RECENT_AUTH_SECONDS) throw reauthenticationRequired();
  };
}
