/** Kysely queries for passkeys. */
import type { Selectable } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Db } from '../../platform/db/database.js';
import type { PasskeysTable } from './passkeys.tables.js';
import './passkeys.tables.js';

export type Passkey = Selectable<PasskeysTable>;

export async function listPasskeys(db: Db, userId: string): Promise<Passkey[]> {
  return db
    .selectFrom('passkeys')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('id')
    .limit(100)
    .execute();
}

export async function findPasskeyByCredentialId(
  db: Db,
  credentialId: string,
): Promise<Passkey | undefined> {
  return db
    .selectFrom('passkeys')
    .selectAll()
    .where('credential_id', '=', credentialId)
    .executeTakeFirst();
}

export async function countPasskeys(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('passkeys')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Stores a new credential; undefined when its id is already registered (to anyone). */
export async function insertPasskey(
  db: Db,
  row: {
    userId: string;
    credentialId: string;
    publicKey: string;
    counter: number;
    transports: readonly string[];
    deviceType: string;
    backedUp: boolean;
    name: string;
  },
  now: Date,
): Promise<Passkey | undefined> {
  return db
    .insertInto('passkeys')
    .values({
      id: uuidv7(),
      user_id: row.userId,
      credential_id: row.credentialId,
      public_key: row.publicKey,
      counter: row.counter,
      transports: row.transports.join(','),
      device_type: row.deviceType,
      backed_up: row.backedUp,
      name: row.name,
      created_at: now,
      last_used_at: null,
    })
    .onConflict((oc) => oc.column('credential_id').doNothing())
    .returningAll()
    .executeTakeFirst();
}

/**
 * Records a sign-in: the new counter and backup state. The counter only moves forward (a
 * concurrent sign-in that reported a lower one changes nothing): false when this one lost.
 */
export async function recordPasskeyUse(
  db: Db,
  id: string,
  use: { counter: number; previous: number; backedUp: boolean },
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('passkeys')
    .set({ counter: use.counter, backed_up: use.backedUp, last_used_at: now })
    .where('id', '=', id)
    .where('counter', '=', use.previous)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function renamePasskey(
  db: Db,
  userId: string,
  id: string,
  name: string,
): Promise<Passkey | undefined> {
  return db
    .updateTable('passkeys')
    .set({ name })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returningAll()
    .executeTakeFirst();
}

/** Removes every passkey of an account (admin MFA reset); returns how many there were. */
export async function deletePasskeysOf(db: Db, userId: string): Promise<number> {
  const result = await db.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}
