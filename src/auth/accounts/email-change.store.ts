/**
 * Storage of the email-change links (issue 19): the token in `one_time_tokens` (hash, expiry,
 * single use) and the addresses it stands for in `email_change_tokens`. Every function takes the
 * caller's transaction, so a change, its tokens and its audit entry commit together.
 */
import type { Db } from '../../platform/db/database.js';
import type { User } from '../../platform/db/schema.js';
import type { TokenPurpose } from './accounts.store.js';
import type { EmailChangeTokensTable } from './email-change.tables.js';
import './email-change.tables.js';

export type EmailChangeLink = EmailChangeTokensTable & { readonly created_at: Date };

/** Stores a link token with the addresses it stands for. */
export async function insertEmailChangeLink(
  trx: Db,
  link: {
    readonly userId: string;
    readonly purpose: Extract<TokenPurpose, 'confirm_email' | 'revert_email'>;
    readonly tokenHash: string;
    readonly expiresAt: Date;
    readonly now: Date;
  } & Omit<EmailChangeTokensTable, 'token_hash'>,
): Promise<void> {
  await trx
    .insertInto('one_time_tokens')
    .values({
      token_hash: link.tokenHash,
      user_id: link.userId,
      purpose: link.purpose,
      expires_at: link.expiresAt,
      created_at: link.now,
    })
    .execute();
  await trx
    .insertInto('email_change_tokens')
    .values({
      token_hash: link.tokenHash,
      old_email: link.old_email,
      old_email_key: link.old_email_key,
      new_email: link.new_email,
      new_email_key: link.new_email_key,
      session_id: link.session_id,
    })
    .execute();
}

/** Stores a plain one-time token (the reset link a revert mails) inside `trx`. */
export async function insertLinkToken(
  trx: Db,
  userId: string,
  purpose: TokenPurpose,
  tokenHash: string,
  expiresAt: Date,
  now: Date,
): Promise<void> {
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
 * Uses a live link up and returns the user it belongs to with the addresses it stands for;
 * undefined for an unknown, used, expired or other-purpose token. Of two concurrent uses exactly
 * one gets the row.
 */
export async function consumeEmailChangeLink(
  trx: Db,
  tokenHash: string,
  purpose: Extract<TokenPurpose, 'confirm_email' | 'revert_email'>,
  now: Date,
): Promise<(EmailChangeLink & { readonly user_id: string }) | undefined> {
  const used = await trx
    .updateTable('one_time_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning(['user_id', 'created_at'])
    .executeTakeFirst();
  if (!used) return undefined;
  const link = await trx
    .selectFrom('email_change_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
  return link ? { ...link, user_id: used.user_id, created_at: used.created_at } : undefined;
}

/** The account row, locked until the transaction ends (one change of the address at a time). */
export async function lockUser(trx: Db, userId: string): Promise<User | undefined> {
  return trx
    .selectFrom('users')
    .selectAll()
    .where('id', '=', userId)
    .forUpdate()
    .executeTakeFirst();
}

/** Whether another account holds this address key (tombstones included: their key is theirs). */
export async function addressTaken(db: Db, key: string, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('email_key', '=', key)
    .where('id', '!=', userId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Moves the account to an address the link proved: it counts as verified from now. */
export async function setAddress(
  trx: Db,
  userId: string,
  address: { readonly email: string; readonly key: string },
  now: Date,
): Promise<User> {
  return trx
    .updateTable('users')
    .set({ email: address.email, email_key: address.key, email_verified_at: now, updated_at: now })
    .where('id', '=', userId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Uses up the revert links of the changes confirmed after `since` (the ones mailed to addresses
 * the account moved to later): after a revert, none of them may move it away again. Revert links
 * of earlier changes stay, so a later change cannot take the first owner's way back.
 */
export async function invalidateLaterRevertLinks(
  trx: Db,
  userId: string,
  since: Date,
  now: Date,
): Promise<void> {
  await trx
    .updateTable('one_time_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('purpose', '=', 'revert_email')
    .where('used_at', 'is', null)
    .where('created_at', '>', since)
    .execute();
}
