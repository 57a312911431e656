/** Accounts and their one-time tokens (verification, reset), stored as SHA-256 only. */
import { sql } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { NewUser, OneTimeTokensTable, User } from '../../platform/db/schema.js';
import { newLifecycleRow } from '../../platform/lifecycle/lifecycle.js';

export type TokenPurpose = OneTimeTokensTable['purpose'];

export async function findUserByEmailKey(db: Db, key: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('email_key', '=', key).executeTakeFirst();
}

export async function findUserById(db: Db, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Register's insert (issue 19): the account and its `user.created` lifecycle event in ONE
 * statement, a no-op for a taken address, so a new and a taken address still cost the same
 * queries (issue 14, item 4).
 */
export async function insertUserIfNewWithEvent(db: Db, user: NewUser): Promise<void> {
  const event = newLifecycleRow({
    type: 'user.created',
    userId: user.id,
    data: { email: user.email, displayName: user.display_name, via: 'register' },
  });
  await db
    .with('created', (w) =>
      w
        .insertInto('users')
        .values(user)
        .onConflict((oc) => oc.column('email_key').doNothing())
        .returning('id'),
    )
    .insertInto('lifecycle_events')
    .columns(['id', 'type', 'user_id', 'data', 'at', 'next_attempt_at'])
    .expression((eb) =>
      eb
        .selectFrom('created')
        .select([
          sql<string>`${event.id}::uuid`.as('id'),
          sql<string>`${event.type}::text`.as('type'),
          'created.id as user_id',
          sql<string>`${event.data}::jsonb`.as('data'),
          sql<Date>`${event.at}::timestamptz`.as('at'),
          sql<Date>`${event.next_attempt_at}::timestamptz`.as('next_attempt_at'),
        ]),
    )
    .execute();
}

/** Inserts unless the email is taken; returns the new row, or undefined for an existing email. */
export async function insertUserIfNew(db: Db, user: NewUser): Promise<User | undefined> {
  return db
    .insertInto('users')
    .values(user)
    .onConflict((oc) => oc.column('email_key').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function setPasswordHash(db: Db, userId: string, hash: string, now: Date) {
  await db
    .updateTable('users')
    .set({ password_hash: hash, updated_at: now })
    .where('id', '=', userId)
    .execute();
}

/**
 * Stores a new token. Unless `keepOlder`, every older unused token of the user for the same
 * purpose dies (a new reset link invalidates the previous ones).
 */
export async function createOneTimeToken(
  db: Db,
  userId: string,
  purpose: TokenPurpose,
  tokenHash: string,
  expiresAt: Date,
  now: Date,
  keepOlder = false,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (!keepOlder) {
      await trx
        .updateTable('one_time_tokens')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .execute();
    }
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
  });
}

/** The user a live token belongs to, without using it up. */
export async function peekOneTimeToken(
  db: Db,
  tokenHash: string,
  purpose: TokenPurpose,
  now: Date,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('one_time_tokens')
    .select('user_id')
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row?.user_id;
}

/** Uses a token up atomically: of two concurrent uses, exactly one gets the user id. */
export async function consumeOneTimeToken(
  db: Db,
  tokenHash: string,
  purpose: TokenPurpose,
  now: Date,
): Promise<string | undefined> {
  const row = await db
    .updateTable('one_time_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('user_id')
    .executeTakeFirst();
  return row?.user_id;
}

/** "This was not me": password login fails like a wrong password until a reset lifts it. */
export async function blockPasswordLogin(db: Db, userId: string, now: Date): Promise<void> {
  await db
    .updateTable('users')
    .set({ password_login_blocked_at: now, updated_at: now })
    .where('id', '=', userId)
    .execute();
}

/**
 * A reset sets the password and lifts the block "this was not me" put on password login, and an
 * administrator's "require a password reset".
 */
export async function setPasswordHashFromReset(
  db: Db,
  userId: string,
  hash: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable('users')
    .set({
      password_hash: hash,
      password_login_blocked_at: null,
      password_reset_required_at: null,
      updated_at: now,
    })
    .where('id', '=', userId)
    .execute();
}

export async function markEmailVerified(db: Db, userId: string, now: Date): Promise<User> {
  return db
    .updateTable('users')
    .set((eb) => ({
      email_verified_at: eb.fn.coalesce('email_verified_at', eb.val(now)),
      updated_at: now,
    }))
    .where('id', '=', userId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Uses up every live link of the user for these purposes (a password change kills the reset and
 * "this was not me" links mailed before it). Returns how many died.
 */
export async function invalidateLinkTokens(
  db: Db,
  userId: string,
  purposes: readonly TokenPurpose[],
  now: Date,
): Promise<number> {
  if (purposes.length === 0) return 0;
  const result = await db
    .updateTable('one_time_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('purpose', 'in', [...purposes])
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
