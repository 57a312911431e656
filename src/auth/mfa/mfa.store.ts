/** TOTP secrets (sealed), the replay counter, and recovery codes (hashed). */
import type { Db } from '../../platform/db/database.js';

export async function setPendingSecret(db: Db, userId: string, sealed: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ totp_pending_sealed: sealed })
    .where('id', '=', userId)
    .execute();
}

export async function readTotpState(db: Db, userId: string) {
  return db
    .selectFrom('users')
    .select(['mfa_enabled', 'totp_secret_sealed', 'totp_pending_sealed', 'totp_last_counter'])
    .where('id', '=', userId)
    .executeTakeFirst();
}

/**
 * Accepts a time step once: the conditional update succeeds for exactly one of two concurrent
 * uses of a code, and never for a step at or before the last accepted one.
 */
export async function acceptStep(db: Db, userId: string, step: number): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ totp_last_counter: step })
    .where('id', '=', userId)
    .where('totp_last_counter', '<', step)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Turns MFA on with the pending secret the code was checked against (`verifiedSealed`) and
 * replaces the recovery codes; false, changing nothing, when the pending secret is another one
 * by now (a second setup raced the confirm) or MFA is already on. Run inside the caller's
 * transaction, so the audit entry commits with it.
 */
export async function activateTotp(
  trx: Db,
  userId: string,
  verifiedSealed: string,
  codeHashes: string[],
  now: Date,
): Promise<boolean> {
  const result = await trx
    .updateTable('users')
    .set({
      totp_secret_sealed: verifiedSealed,
      totp_pending_sealed: null,
      mfa_enabled: true,
      updated_at: now,
    })
    .where('id', '=', userId)
    .where('totp_pending_sealed', '=', verifiedSealed)
    .where('mfa_enabled', '=', false)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) return false;
  await replaceRecoveryCodes(trx, userId, codeHashes, now);
  return true;
}

/** Replaces every recovery code of the user; run inside the caller's transaction. */
export async function replaceRecoveryCodes(
  trx: Db,
  userId: string,
  codeHashes: string[],
  now: Date,
) {
  await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  await trx
    .insertInto('mfa_recovery_codes')
    .values(codeHashes.map((code_hash) => ({ code_hash, user_id: userId, created_at: now })))
    .execute();
}

/** Uses a recovery code up; of two concurrent uses exactly one succeeds. */
export async function useRecoveryCode(
  db: Db,
  userId: string,
  codeHash: string,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('mfa_recovery_codes')
    .set({ used_at: now })
    .where('code_hash', '=', codeHash)
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function remainingRecoveryCodes(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('mfa_recovery_codes')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Turns MFA off; run inside the caller's transaction, so the audit entry commits with it. */
export async function disableMfa(trx: Db, userId: string, now: Date): Promise<void> {
  await trx
    .updateTable('users')
    .set({
      mfa_enabled: false,
      totp_secret_sealed: null,
      totp_pending_sealed: null,
      updated_at: now,
    })
    .where('id', '=', userId)
    .execute();
  await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  // Live sessions stop counting as MFA sessions: their next access token has no `otp` in
  // `amr` (an admin's then loses /admin until MFA is back and they log in again).
  await trx.updateTable('sessions').set({ mfa: false }).where('user_id', '=', userId).execute();
}
