/**
 * The cast of an authorization test: a user, another user, a moderator, an admin (with TOTP, as
 * admins must have) and a user whose email is not verified, each logged in with a bearer token.
 * The app must be built on a manual clock (`deps: { clock }`): the admin's TOTP login needs a
 * time step that enrolment did not use.
 */
import { hash } from '@node-rs/argon2';
import type { Role } from '../../src/access/policy.js';
import type { App } from '../../src/app.js';
import type { Db } from '../../src/platform/db/database.js';
import { insertUser } from './accounts.js';
import { bearer, type LoggedIn, login, STRONG_PASSWORD, uniqueEmail } from './auth.js';
import { enrolTotp, freshCode, loginWithMfa, type MovableClock } from './mfa.js';

export interface Actor extends LoggedIn {
  readonly headers: Record<string, string>;
}

export interface Actors {
  readonly user: Actor;
  readonly other: Actor;
  readonly moderator: Actor;
  readonly admin: Actor & { readonly totpSecret: string };
  /** Logged in, then their verification was withdrawn (as after an email change). */
  readonly unverified: Actor;
}

function actor(l: LoggedIn): Actor {
  return { ...l, headers: bearer(l.accessToken) };
}

/** Inserts a verified account holding `roles` (besides the implicit `user`) and logs it in. */
export async function createActor(
  app: App,
  db: Db,
  options: { roles?: Role[]; prefix?: string; displayName?: string } = {},
): Promise<Actor> {
  const email = uniqueEmail(options.prefix ?? 'actor');
  const passwordHash = await hash(STRONG_PASSWORD, {
    algorithm: 2, // argon2id
    memoryCost: 1024,
    timeCost: 1,
    parallelism: 1,
  });
  const row = await insertUser(db, { email, passwordHash, displayName: options.displayName });
  const roles = (options.roles ?? []).filter((r) => r !== 'user');
  if (roles.length > 0) {
    await db.updateTable('users').set({ roles }).where('id', '=', row.id).execute();
  }
  return actor(await login(app, email, STRONG_PASSWORD));
}

/** An admin with TOTP enrolled, logged in through the second factor (recent login). */
export async function createAdmin(
  app: App,
  db: Db,
  clock: MovableClock,
): Promise<Actor & { readonly totpSecret: string }> {
  const first = await createActor(app, db, { roles: ['admin'], prefix: 'admin' });
  const { secret } = await enrolTotp(app, first.accessToken, clock);
  const l = await loginWithMfa(app, first.email, STRONG_PASSWORD, freshCode(secret, clock));
  return { ...actor(l), totpSecret: secret };
}

export async function createActors(app: App, db: Db, clock: MovableClock): Promise<Actors> {
  const user = await createActor(app, db, { prefix: 'user' });
  const other = await createActor(app, db, { prefix: 'other' });
  const moderator = await createActor(app, db, { roles: ['moderator'], prefix: 'mod' });
  const admin = await createAdmin(app, db, clock);
  const unverified = await createActor(app, db, { prefix: 'unverified' });
  await db
    .updateTable('users')
    .set({ email_verified_at: null })
    .where('id', '=', unverified.userId)
    .execute();
  return { user, other, moderator, admin, unverified };
}
