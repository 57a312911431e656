/** Account administration queries. Deleted accounts (tombstones) are invisible here. */
import { deletePasskeysOf } from '../../auth/passkeys/passkeys.store.js';
import type { Db } from '../../platform/db/database.js';
import type { User } from '../../platform/db/schema.js';
import { eraseUserTraces } from '../../platform/retention/erasure.js';

/** Escapes LIKE's wildcards so a search for `50%_off` matches that text only. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function searchUsers(
  db: Db,
  query: string | undefined,
  after: string | undefined,
  limit: number,
): Promise<User[]> {
  let q = db
    .selectFrom('users')
    .selectAll()
    .where('deleted_at', 'is', null)
    .orderBy('id', 'asc')
    .limit(limit);
  if (after) q = q.where('id', '>', after);
  const text = query?.trim();
  if (text) {
    const pattern = likePattern(text.toLowerCase());
    q = q.where((eb) =>
      eb.or([
        eb('email_key', 'like', pattern),
        eb(eb.fn('lower', ['display_name']), 'like', pattern),
      ]),
    );
  }
  return q.execute();
}

/** Reads a live account and locks its row for the rest of the transaction. */
export async function findLiveUserForUpdate(trx: Db, id: string): Promise<User | undefined> {
  return trx
    .selectFrom('users')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
}

export async function updateRolesAndLock(
  trx: Db,
  id: string,
  change: { roles: string[]; locked: boolean },
  now: Date,
): Promise<User> {
  return trx
    .updateTable('users')
    .set({ roles: change.roles, locked: change.locked, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Erases an account's personal data and credentials, keeping the row as a tombstone so orders,
 * ledger entries and posts that point at it stay valid ("Deleted user").
 */
export async function tombstoneUser(trx: Db, id: string, now: Date): Promise<void> {
  await trx
    .updateTable('users')
    .set({
      email: `deleted-${id}@deleted.invalid`,
      email_key: `deleted:${id}`,
      display_name: 'Deleted user',
      password_hash: null,
      roles: [],
      locked: true,
      mfa_enabled: false,
      totp_secret_sealed: null,
      totp_pending_sealed: null,
      avatar_url: null,
      email_verified_at: null,
      deleted_at: now,
      updated_at: now,
    })
    .where('id', '=', id)
    .execute();
  await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', id).execute();
  await deletePasskeysOf(trx, id);
  // Sessions' addresses and user agents, security events' addresses and detail, one-time tokens.
  await eraseUserTraces(trx, id);
}
