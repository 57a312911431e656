/**
 * Routes that create content or spend money need a verified email (DESIGN.md, Shop). The token
 * does not carry it (no PII, and it can change), so it is read from the account.
 */
import type { preHandlerHookHandler } from 'fastify';
import type { Db } from '../platform/db/database.js';
import { AppError } from '../platform/errors.js';
import { principalOf } from './policy.js';

export function requireVerifiedEmail(db: Db): preHandlerHookHandler {
  return async (request) => {
    const { userId } = principalOf(request);
    const row = await db
      .selectFrom('users')
      .select('email_verified_at')
      .where('id', '=', userId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row?.email_verified_at) {
      throw new AppError('email_not_verified', 403, 'Verify your email address first');
    }
  };
}
