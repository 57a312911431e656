/** Signing-key rows: the key ring's persistence. */
import { sql } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { SigningKeyRow } from '../../platform/db/schema.js';

/** Keys still published: not yet expired (includes keys waiting to activate). */
export async function listLiveKeys(db: Db, now: Date): Promise<SigningKeyRow[]> {
  return db
    .selectFrom('signing_keys')
    .selectAll()
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .orderBy('activates_at', 'asc')
    .execute();
}

export interface NewKeyRow {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privateKeySealed: string;
  activatesAt: Date;
}

/**
 * Inserts a key and retires every other unretired key from the moment the new one activates;
 * retired keys keep verifying until `retiredKeysExpireAt`. Serialized across instances by an
 * advisory lock so two rotations cannot interleave.
 */
export async function insertKeyAndRetireOthers(
  db: Db,
  key: NewKeyRow,
  retiredKeysExpireAt: Date,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(7403550001)`.execute(trx);
    await trx
      .updateTable('signing_keys')
      .set({ retired_at: key.activatesAt, expires_at: retiredKeysExpireAt })
      .where('retired_at', 'is', null)
      .execute();
    await trx
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        alg: key.alg,
        public_jwk: JSON.stringify(key.publicJwk),
        private_key_sealed: key.privateKeySealed,
        activates_at: key.activatesAt,
      })
      .execute();
  });
}

/** Removes keys that expired long ago; they verify nothing any more. */
export async function deleteExpiredKeys(db: Db, before: Date): Promise<void> {
  await db.deleteFrom('signing_keys').where('expires_at', '<', before).execute();
}
