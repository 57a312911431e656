/**
 * Who a provider's answer signs in. Identities are keyed by (issuer, subject), never by email:
 * a known identity signs in its own account whatever address the provider now asserts. A new
 * identity joins the local account with the same normalized email only when the provider asserts
 * the address verified and the local address is verified too, and only when that account has no
 * identity at this issuer yet (a recycled address must not take over an account); a new person
 * gets a new account without a password.
 */
import { uuidv7 } from 'uuidv7';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/database.js';
import type { User } from '../../platform/db/schema.js';
import { emitLifecycle } from '../../platform/lifecycle/lifecycle.js';
import { insertUserIfNew } from '../accounts/accounts.store.js';
import { normalizeDisplayName, normalizeEmail } from '../accounts/email.js';
import {
  findIdentity,
  hasIdentityAt,
  type Identity,
  insertIdentity,
  touchIdentity,
} from './identities.store.js';
import { oauthError } from './oauth.errors.js';
import type { ProviderProfile } from './providers/provider.js';

export interface SignIn {
  readonly user: User;
  readonly identity: Identity;
  /** What this login did besides signing in: linked an existing account, or created one. */
  readonly outcome: 'existing' | 'linked' | 'created';
}

/** Rolls back a link or creation that a concurrent login made moot. */
class RaceLost extends Error {}

async function userById(db: Db, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Resolves (and links or creates when the rules allow) the account `profile` signs in. */
export async function resolveSignIn(
  db: Db,
  clock: Clock,
  provider: string,
  profile: ProviderProfile,
  retried = false,
): Promise<SignIn> {
  const now = new Date(clock.now());
  const email = profile.email ? normalizeEmail(profile.email) : null;
  const known = await findIdentity(db, profile.issuer, profile.subject);
  if (known) {
    // An address change at the provider is recorded, never followed to another account.
    await touchIdentity(db, known.id, email?.email ?? known.email, now);
    const user = await userById(db, known.user_id);
    if (!user) throw oauthError('oauth_provider_error');
    return { user, identity: known, outcome: 'existing' };
  }
  if (!email) throw oauthError('oauth_email_unverified');

  const attempt = db.transaction().execute(async (trx) => {
    const local = await trx
      .selectFrom('users')
      .selectAll()
      .where('email_key', '=', email.key)
      .forUpdate()
      .executeTakeFirst();
    if (local) {
      if (!profile.emailVerified || !local.email_verified_at) {
        throw oauthError('oauth_email_unverified');
      }
      if (await hasIdentityAt(trx, local.id, profile.issuer)) {
        throw oauthError('oauth_account_exists');
      }
      const identity = await insertIdentity(
        trx,
        { userId: local.id, provider, ...profile, email: email.email },
        now,
      );
      if (!identity) throw new RaceLost();
      return { user: local, identity, outcome: 'linked' as const };
    }
    const displayName =
      (profile.name && normalizeDisplayName(profile.name)) ??
      normalizeDisplayName(email.localPart) ??
      'user';
    const user = await insertUserIfNew(trx, {
      id: uuidv7(),
      email: email.email,
      email_key: email.key,
      display_name: displayName,
      // No password: password login answers like a wrong one (checkCredentials).
      password_hash: null,
      roles: [],
      email_verified_at: profile.emailVerified ? now : null,
      avatar_url: null,
      created_at: now,
      updated_at: now,
    });
    if (!user) throw new RaceLost();
    await emitLifecycle(trx, {
      type: 'user.created',
      userId: user.id,
      data: { email: user.email, displayName: user.display_name, via: provider },
    });
    const identity = await insertIdentity(
      trx,
      { userId: user.id, provider, ...profile, email: email.email },
      now,
    );
    if (!identity) throw new RaceLost();
    return { user, identity, outcome: 'created' as const };
  });
  try {
    return await attempt;
  } catch (err) {
    // A concurrent login linked this identity or took this address first: decide again, once.
    if (err instanceof RaceLost && !retried)
      return resolveSignIn(db, clock, provider, profile, true);
    if (err instanceof RaceLost) throw oauthError('oauth_provider_error');
    throw err;
  }
}

/**
 * Links the provider's identity to `userId`, an account whose session asked for it (a link
 * grant): no email rule applies, the person proved both sides. An identity already linked to
 * another account stays there (`oauth_identity_in_use`); one account holds one identity per
 * issuer (`oauth_account_exists`). `linked` is false when it was already this account's.
 */
export async function linkToAccount(
  db: Db,
  clock: Clock,
  userId: string,
  provider: string,
  profile: ProviderProfile,
): Promise<{ identity: Identity; linked: boolean }> {
  const now = new Date(clock.now());
  const email = profile.email ? (normalizeEmail(profile.email)?.email ?? null) : null;
  return db.transaction().execute(async (trx) => {
    // The account row is locked, as unlink locks it, so a link and an unlink cannot interleave.
    const user = await trx
      .selectFrom('users')
      .select(['id', 'locked', 'deleted_at'])
      .where('id', '=', userId)
      .forUpdate()
      .executeTakeFirst();
    if (!user || user.locked || user.deleted_at !== null) throw oauthError('oauth_account_locked');
    const known = await findIdentity(trx, profile.issuer, profile.subject);
    if (known) {
      if (known.user_id !== userId) throw oauthError('oauth_identity_in_use');
      await touchIdentity(trx, known.id, email ?? known.email, now);
      return { identity: known, linked: false };
    }
    if (await hasIdentityAt(trx, userId, profile.issuer)) throw oauthError('oauth_account_exists');
    const identity = await insertIdentity(trx, { userId, provider, ...profile, email }, now);
    // Lost to a concurrent link of the same identity: that one decides whose it is.
    if (!identity) throw oauthError('oauth_identity_in_use');
    return { identity, linked: true };
  });
}
