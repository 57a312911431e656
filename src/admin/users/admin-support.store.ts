/** Queries of the administrator support tools (invitations, required resets). */
import type { TokenPurpose } from '../../auth/accounts/accounts.store.js';
import type { Db } from '../../platform/db/database.js';
import type { User } from '../../platform/db/schema.js';

/**
 * Stores a link token inside the caller's transaction (the account and its invitation commit
 * together); every older unused token of the user for the same purpose dies.
 */
export async function storeLinkToken(
  trx: Db,
  userId: string,
  purpose: TokenPurpose,
  tokenHash: string,
  expiresAt: Date,
  now: Date,
): Promise<void> {
  await trx
    .updateTable('one_time_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();
  await trx
    .insertInto('one_time_tokens')
    .values({
      token_hash: tokenHash,
      user_id: userId,
      purpose,
      expires_at: expiresAt,
      created_at: now,
    })
    .execute();
}

/**
 * Sets the first password of an invited account and verifies its address; undefined unless the
 * account is live, unlocked and still has no password (an invitation never replaces one).
 */
export async function setInvitedPassword(
  trx: Db,
  userId: string,
  hash: string,
  now: Date,
): Promise<User | undefined> {
  return trx
    .updateTable('users')
    .set((eb) => ({
      password_hash: hash,
      email_verified_at: eb.fn.coalesce('email_verified_at', eb.val(now)),
      updated_at: now,
    }))
    .where('id', '=', userId)
    .where('password_hash', 'is', null)
    .where('deleted_at', 'is', null)
    .where('locked', '=', false)
    .returningAll()
    .executeTakeFirst();
}

export async function markPasswordResetRequired(trx: Db, userId: string, now: Date) {
  await trx
    .updateTable('users')
    .set((eb) => ({
      password_reset_required_at: eb.fn.coalesce('password_reset_required_at', eb.val(now)),
      updated_at: now,
    }))
    .where('id', '=', userId)
    .execute();
}
