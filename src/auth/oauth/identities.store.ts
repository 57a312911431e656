/** Kysely queries for social login identities. */
import type { Selectable } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Db } from '../../platform/db/database.js';
import type { IdentitiesTable } from './identities.tables.js';

export type Identity = Selectable<IdentitiesTable>;

export async function findIdentity(
  db: Db,
  issuer: string,
  subject: string,
): Promise<Identity | undefined> {
  return db
    .selectFrom('identities')
    .selectAll()
    .where('issuer', '=', issuer)
    .where('subject', '=', subject)
    .executeTakeFirst();
}

/** True when the user already has an identity at `issuer` (under any subject). */
export async function hasIdentityAt(db: Db, userId: string, issuer: string): Promise<boolean> {
  const row = await db
    .selectFrom('identities')
    .select('id')
    .where('user_id', '=', userId)
    .where('issuer', '=', issuer)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Links (issuer, subject) to a user; undefined when a concurrent login linked it first (the
 * unique key decides, so one identity never belongs to two accounts).
 */
export async function insertIdentity(
  db: Db,
  row: { userId: string; provider: string; issuer: string; subject: string; email: string | null },
  now: Date,
): Promise<Identity | undefined> {
  return db
    .insertInto('identities')
    .values({
      id: uuidv7(),
      user_id: row.userId,
      provider: row.provider,
      issuer: row.issuer,
      subject: row.subject,
      email: row.email,
      created_at: now,
      last_login_at: now,
    })
    .onConflict((oc) => oc.columns(['issuer', 'subject']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

/** Records a login: the email as last seen (it never moves the identity). */
export async function touchIdentity(db: Db, id: string, email: string | null, now: Date) {
  await db
    .updateTable('identities')
    .set({ email, last_login_at: now })
    .where('id', '=', id)
    .execute();
}

/** A page of the user's identities, oldest first, after the `after` id. */
export async function listIdentities(
  db: Db,
  userId: string,
  limit: number,
  after: string | undefined,
): Promise<Identity[]> {
  let q = db.selectFrom('identities').selectAll().where('user_id', '=', userId);
  if (after) q = q.where('id', '>', after);
  return q.orderBy('id').limit(limit).execute();
}

export async function countIdentities(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('identities')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function deleteIdentity(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('identities')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Unlinks every identity of an account; returns how many there were. */
export async function deleteIdentitiesOf(db: Db, userId: string): Promise<number> {
  const result = await db.deleteFrom('identities').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The identities of several users (one query), by user id, oldest first. */
export async function identitiesOfUsers(
  db: Db,
  userIds: readonly string[],
): Promise<Map<string, Identity[]>> {
  const byUser = new Map<string, Identity[]>();
  if (userIds.length === 0) return byUser;
  const rows = await db
    .selectFrom('identities')
    .selectAll()
    .where('user_id', 'in', userIds)
    .orderBy('id')
    .execute();
  for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row]);
  return byUser;
}
