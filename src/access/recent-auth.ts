/**
 * Sensitive actions need a recent login: the token's `auth_time` within 5 minutes, else 401
 * `reauthentication_required` (ASVS V7.5.1).
 */
import type { preHandlerHookHandler } from 'fastify';
import type { Clock } from '../platform/clock.js';
import { AppError } from '../platform/errors.js';
import { principalOf } from './policy.js';

export const RECENT_AUTH_SECONDS = 300;

export function requireRecentAuth(clock: Clock): preHandlerHookHandler {
  return async (request) => {
    const { authTime } = principalOf(request);
    if (clock.now() / 1000 - authTime > RECENT_AUTH_SECONDS) {
      throw new AppError(
        'reauthentication_required',
        401,
        'Log in again to do this (the last login is over 5 minutes old)',
      );
    }
  };
}
