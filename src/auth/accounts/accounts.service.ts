/**
 * Registration, verification, credential checks and password recovery. Every path that could
 * tell an attacker whether an address is registered answers the same and spends the same
 * hashing work either way.
 */
import type { FastifyBaseLogger } from 'fastify';
import { uuidv7 } from 'uuidv7';
import type { Config } from '../../config.js';
import type { AuditChain } from '../../platform/audit/audit.store.js';
import type { Clock } from '../../platform/clock.js';
import { randomToken, sha256Hex } from '../../platform/crypto.js';
import type { Db } from '../../platform/db/database.js';
import type { User } from '../../platform/db/schema.js';
import { AppError, platformError } from '../../platform/errors.js';
import { emitLifecycle } from '../../platform/lifecycle/lifecycle.js';
import type { Mail, Mailer } from '../../platform/mail/mailer.js';
import type { Limiter } from '../../platform/rate-limit/limiters.js';
import type { SharedState } from '../../platform/state/shared-state.js';
import { deleteIdentitiesOf } from '../oauth/identities.store.js';
import type { PasswordHasher } from '../passwords/hasher.js';
import { normalizePassword, type PasswordPolicy } from '../passwords/policy.js';
import { accountError } from './accounts.errors.js';
import {
  blockPasswordLogin,
  consumeOneTimeToken,
  createOneTimeToken,
  findUserByEmailKey,
  findUserById,
  insertUserIfNewWithEvent,
  invalidateLinkTokens,
  markEmailVerified,
  peekOneTimeToken,
  setPasswordHash,
  setPasswordHashFromReset,
} from './accounts.store.js';
import { normalizeDisplayName, normalizeEmail } from './email.js';
import { enqueueAccountMail, type OutboxDeps } from './mail-outbox.js';
import {
  alreadyRegisteredMail,
  newDeviceMail,
  passwordChangedMail,
  resetMail,
  securedAccountResetMail,
  sessionTheftMail,
  verificationMail,
} from './mails.js';

export const VERIFY_TOKEN_TTL_MS = 24 * 3600_000;
export const RESET_TOKEN_TTL_MS = 30 * 60_000;
/** "This was not me" links stay usable for a week: such mails are often read late. */
export const SECURE_ACCOUNT_TOKEN_TTL_MS = 7 * 24 * 3600_000;

export interface AccountDeps {
  readonly db: Db;
  readonly state: SharedState;
  readonly clock: Clock;
  readonly config: Config;
  readonly hasher: PasswordHasher;
  readonly policy: PasswordPolicy;
  readonly mailer: Mailer;
  readonly audit: AuditChain;
}

/** Sends without making the caller wait: SMTP latency must not reveal which path ran. */
function sendInBackground(mailer: Mailer, log: FastifyBaseLogger, mail: Mail): void {
  mailer.send(mail).catch((err: unknown) => {
    log.warn({ event: 'mail_failed', errName: (err as Error)?.name }, 'mail could not be sent');
  });
}

/**
 * Mails a security notice carrying a fresh "this was not me" link, off the request path: making
 * the link or sending the mail must neither delay nor undo the change the notice is about.
 */
export function sendNotice(
  deps: AccountDeps,
  log: FastifyBaseLogger,
  user: { id: string; email: string },
  mail: (secureUrl: string) => Mail,
): void {
  secureAccountUrl(deps, user.id)
    .then((url) => deps.mailer.send(mail(url)))
    .catch((err: unknown) => {
      log.warn({ event: 'mail_failed', errName: (err as Error)?.name }, 'notice could not be sent');
    });
}

export function enforcePolicy(
  deps: AccountDeps,
  password: string,
  email: string,
  displayName: string,
): void {
  const verdict = deps.policy.check(password, { email, displayName });
  if (!verdict.ok) {
    throw accountError('weak_password', { rule: verdict.rule, suggestions: verdict.suggestions });
  }
}

function validation(path: string, message: string) {
  return { errors: [{ path, message }] };
}

function accountErrorValidation(path: string, message: string) {
  return platformError('validation_failed', validation(path, message));
}

async function issueLinkToken(
  deps: Pick<AccountDeps, 'db' | 'clock'>,
  userId: string,
  purpose: 'verify_email' | 'reset_password' | 'secure_account',
  ttlMs: number,
): Promise<string> {
  const token = randomToken();
  const now = deps.clock.now();
  await createOneTimeToken(
    deps.db,
    userId,
    purpose,
    sha256Hex(token),
    new Date(now + ttlMs),
    new Date(now),
    // Several "not me" links (one per new-device mail) may be live at once.
    purpose === 'secure_account',
  );
  return token;
}

/** Registers an account, or mails the existing owner; the caller cannot tell which. */
export async function register(
  deps: AccountDeps,
  log: FastifyBaseLogger,
  input: { email: string; password: string; displayName: string },
  cap: Limiter,
): Promise<void> {
  const email = normalizeEmail(input.email);
  if (!email) throw accountErrorValidation('body.email', 'not a valid email address');
  const displayName = normalizeDisplayName(input.displayName);
  if (!displayName)
    throw accountErrorValidation('body.displayName', 'must be 1 to 100 visible characters');
  const password = normalizePassword(input.password);
  enforcePolicy(deps, password, email.email, displayName);

  // Hash before knowing whether the address exists, so both paths cost the same.
  const hash = await deps.hasher.hash(password);
  const now = new Date(deps.clock.now());
  const id = uuidv7();
  // Both paths make the same two queries: the insert (a no-op for a taken address) and one
  // outbox row whose `ref` tells the worker, not the request, which mail is due (item 4).
  await insertUserIfNewWithEvent(deps.db, {
    id,
    email: email.email,
    email_key: email.key,
    display_name: displayName,
    password_hash: hash,
    roles: [],
    email_verified_at: null,
    avatar_url: null,
    created_at: now,
    updated_at: now,
  });
  // At most `cap` registration mails per address and hour, counted for every address (item 6).
  if (!(await takeAddressMail(cap, email.key, log, 'register'))) return;
  await enqueueAccountMail(deps.db, deps.clock, 'registration', email.key, id);
}

/**
 * The mail an outbox row asks for (the worker calls it, never the request): a reset link for a
 * known, unlocked address; a fresh verification link for a resend to a live, unverified account
 * (verify-resend.ts); for a registration, the verification link when the row's `ref` is
 * the account's id (the request created it), "someone tried to register" otherwise.
 */
export function composeAccountMail(deps: AccountDeps): OutboxDeps['compose'] {
  return async (row, user) => {
    if (!user || user.deleted_at) return undefined;
    if (row.kind === 'password_reset') {
      if (user.locked) return undefined;
      const token = await issueLinkToken(deps, user.id, 'reset_password', RESET_TOKEN_TTL_MS);
      const url = `${deps.config.linkBaseUrl}/reset-password?token=${encodeURIComponent(token)}`;
      return resetMail(user.email, url);
    }
    if (row.kind === 'verification_resend') {
      // Only an unverified account that can still verify (it has a password to confirm with).
      if (user.email_verified_at || user.locked || !user.password_hash) return undefined;
      const token = await issueLinkToken(deps, user.id, 'verify_email', VERIFY_TOKEN_TTL_MS);
      const url = `${deps.config.linkBaseUrl}/verify-email?token=${encodeURIComponent(token)}`;
      return verificationMail(user.email, url);
    }
    if (row.ref !== user.id) return alreadyRegisteredMail(user.email, deps.config.linkBaseUrl);
    const token = await issueLinkToken(deps, user.id, 'verify_email', VERIFY_TOKEN_TTL_MS);
    const url = `${deps.config.linkBaseUrl}/verify-email?token=${encodeURIComponent(token)}`;
    return verificationMail(user.email, url);
  };
}

/**
 * Runs the password check of a flow that is not a login (verify-email) inside the login
 * throttle of the account it names: `check` answers whether the password was right.
 */
export type PasswordCheckGuard = (user: User, check: () => Promise<boolean>) => Promise<boolean>;

const unguarded: PasswordCheckGuard = (_user, check) => check();

/**
 * Verifies an address (issue 14, item 5): the token proves the mailbox, the password proves the
 * registrant, so someone who registered another person's address cannot have it verified by a
 * click. The token is peeked, the password checked, and only then is the token used up: a wrong
 * password (401 `invalid_credentials`) leaves it usable.
 */
export async function verifyEmail(
  deps: AccountDeps,
  input: { token: string; password: string },
  guard: PasswordCheckGuard = unguarded,
): Promise<User> {
  const tokenHash = sha256Hex(input.token);
  const now = new Date(deps.clock.now());
  const userId = await peekOneTimeToken(deps.db, tokenHash, 'verify_email', now);
  const user = userId ? await findUserById(deps.db, userId) : undefined;
  if (!user) throw accountError('invalid_token');
  const password = normalizePassword(input.password);
  const valid = await guard(
    user,
    async () => (await deps.hasher.verify(user.password_hash, password)).valid,
  );
  if (!valid) throw accountError('invalid_credentials');
  const consumed = await consumeOneTimeToken(
    deps.db,
    tokenHash,
    'verify_email',
    new Date(deps.clock.now()),
  );
  if (consumed !== user.id) throw accountError('invalid_token');
  return markVerified(deps, user, now, 'link');
}

/** Marks the address verified; the first time, with a `user.verified` event in the same commit. */
function markVerified(deps: AccountDeps, user: User, now: Date, via: string): Promise<User> {
  if (user.email_verified_at) return markEmailVerified(deps.db, user.id, now);
  return deps.db.transaction().execute(async (trx) => {
    const updated = await markEmailVerified(trx, user.id, now);
    await emitLifecycle(trx, { type: 'user.verified', userId: user.id, data: { via } });
    return updated;
  });
}

export interface CredentialCheck {
  readonly email: string;
  readonly password: string;
  /** Logins from a known device go ahead of the hashing queue. */
  readonly priority?: boolean;
}

/**
 * Checks an email and password. Unknown email, wrong password and locked account all throw the
 * same `invalid_credentials` after the same hashing work; `email_not_verified` only follows a
 * correct password. A weak or legacy stored hash is upgraded.
 */
export async function checkCredentials(deps: AccountDeps, input: CredentialCheck): Promise<User> {
  const priority = input.priority ?? false;
  const email = normalizeEmail(input.email);
  const password = normalizePassword(input.password);
  // The pool place is taken before the look-up (issue 5): a login the pool refuses with 503
  // costs the database nothing, which under a flood is most of them.
  const { value: user, result } = await deps.hasher.verifyLookedUp(
    async () => {
      const found = email ? await findUserByEmailKey(deps.db, email.key) : undefined;
      return { stored: found?.password_hash ?? null, value: found };
    },
    password,
    { priority },
  );
  // A password login blocked by "this was not me" fails exactly like a wrong password, after
  // the same hashing work (issue 14, item 13).
  if (!user || !result.valid || user.locked || user.password_login_blocked_at !== null) {
    throw accountError('invalid_credentials');
  }
  // Required by an administrator (issue 19): said only after a correct password, so it tells
  // nothing a wrong one could learn; the login flow mails the reset link.
  if (user.password_reset_required_at !== null) throw accountError('password_reset_required');
  if (!user.email_verified_at) throw accountError('email_not_verified');
  if (result.needsRehash) {
    await setPasswordHash(
      deps.db,
      user.id,
      await deps.hasher.hash(password),
      new Date(deps.clock.now()),
    );
  }
  return user;
}

/**
 * Counts one reset or registration mail for an address; false when none may be sent. A counting
 * failure only withholds the mail (fail closed: no count, no mail), it never becomes an answer of
 * its own.
 */
export async function takeAddressMail(
  cap: Limiter,
  addressKey: string,
  log: FastifyBaseLogger,
  flow: 'reset' | 'register' | 'verify_resend',
) {
  try {
    await cap.consume(addressKey);
    return true;
  } catch (err) {
    if (err instanceof AppError && err.code === 'rate_limited') {
      log.info({ event: `${flow}_mail_suppressed` }, `${flow} mail cap reached for an address`);
    } else {
      log.warn(
        { event: `${flow}_mail_cap_failed`, errName: (err as Error)?.name },
        `${flow} mail cap could not be counted: mail withheld`,
      );
    }
    return false;
  }
}

/**
 * Queues a reset mail, at most `cap` per address and hour; always silent. The request neither
 * looks the account up nor makes a token: it writes the same outbox row for any address, and the
 * worker mails a link when the account exists (issue 14, item 4). The cap is counted for unknown
 * addresses too, so neither it nor a failing limiter (Redis down) answers a known one differently.
 */
export async function forgotPassword(
  deps: AccountDeps,
  log: FastifyBaseLogger,
  rawEmail: string,
  cap: Limiter,
): Promise<void> {
  const email = normalizeEmail(rawEmail);
  if (!email) return;
  if (!(await takeAddressMail(cap, email.key, log, 'reset'))) return;
  await enqueueAccountMail(deps.db, deps.clock, 'password_reset', email.key, null);
}

/**
 * Sets a new password from a reset link. The token is checked first but only used up once the
 * new password passes the policy, so a rejected password does not burn the link.
 */
export async function resetPassword(
  deps: AccountDeps,
  log: FastifyBaseLogger,
  input: { token: string; newPassword: string },
): Promise<User> {
  const tokenHash = sha256Hex(input.token);
  const now = new Date(deps.clock.now());
  const userId = await peekOneTimeToken(deps.db, tokenHash, 'reset_password', now);
  const user = userId ? await findUserById(deps.db, userId) : undefined;
  if (!user) throw accountError('invalid_token');
  const password = normalizePassword(input.newPassword);
  enforcePolicy(deps, password, user.email, user.display_name);
  const hash = await deps.hasher.hash(password);
  const consumed = await consumeOneTimeToken(
    deps.db,
    tokenHash,
    'reset_password',
    new Date(deps.clock.now()),
  );
  if (consumed !== user.id) throw accountError('invalid_token');
  // Lifts a "this was not me" block; every other live reset or "not me" link dies with the old
  // password (a link mailed before the reset must not undo it).
  await deps.db.transaction().execute(async (trx) => {
    await setPasswordHashFromReset(trx, user.id, hash, now);
    await emitLifecycle(trx, {
      type: 'user.password_changed',
      userId: user.id,
      data: { via: 'reset' },
    });
  });
  await invalidateLinkTokens(deps.db, user.id, ['reset_password', 'secure_account'], now);
  if (!user.email_verified_at) {
    // Whoever linked an identity to an address nobody had proved (a provider that does not
    // verify emails) must not ride into the account its owner has just proved and taken over.
    const unlinked = await deleteIdentitiesOf(deps.db, user.id);
    if (unlinked > 0)
      log.warn({ event: 'unverified_identities_unlinked', unlinked }, 'reset unlinked identities');
  }
  // The link proved control of the mailbox.
  const updated = await markVerified(deps, user, now, 'reset');
  sendNotice(deps, log, user, (secureUrl) => passwordChangedMail(user.email, secureUrl));
  return updated;
}

/**
 * A one-time "this was not me" link for a security notice: POST /auth/secure-account with its
 * token signs out every session and mails a reset link.
 */
export async function secureAccountUrl(
  deps: Pick<AccountDeps, 'db' | 'clock' | 'config'>,
  userId: string,
): Promise<string> {
  const token = await issueLinkToken(deps, userId, 'secure_account', SECURE_ACCOUNT_TOKEN_TTL_MS);
  return `${deps.config.linkBaseUrl}/secure-account?token=${encodeURIComponent(token)}`;
}

/** Tells the owner about a login from a browser without a device cookie for the account. */
export async function notifyNewDevice(
  deps: AccountDeps,
  log: FastifyBaseLogger,
  user: User,
  meta: { ip: string; userAgent: string | null },
): Promise<void> {
  const url = await secureAccountUrl(deps, user.id);
  const agent = (meta.userAgent ?? '').slice(0, 200);
  sendInBackground(
    deps.mailer,
    log,
    newDeviceMail(user.email, new Date(deps.clock.now()), meta.ip, agent, url),
  );
}

/** Tells the owner that a refresh token was replayed and its session stopped. */
export async function notifySessionTheft(
  deps: AccountDeps,
  log: FastifyBaseLogger,
  userId: string,
): Promise<void> {
  const user = await findUserById(deps.db, userId);
  if (!user) return;
  sendInBackground(
    deps.mailer,
    log,
    sessionTheftMail(user.email, await secureAccountUrl(deps, user.id)),
  );
}

/**
 * "This was not me": uses the link token up, blocks password login until a reset and mails a
 * fresh reset link; the caller revokes every session. Returns the account's id.
 */
export async function secureAccount(
  deps: AccountDeps,
  log: FastifyBaseLogger,
  token: string,
): Promise<string> {
  const now = new Date(deps.clock.now());
  const userId = await consumeOneTimeToken(deps.db, sha256Hex(token), 'secure_account', now);
  const user = userId ? await findUserById(deps.db, userId) : undefined;
  if (!user) throw accountError('invalid_token');
  await blockPasswordLogin(deps.db, user.id, now);
  const reset = await issueLinkToken(deps, user.id, 'reset_password', RESET_TOKEN_TTL_MS);
  const url = `${deps.config.linkBaseUrl}/reset-password?token=${encodeURIComponent(reset)}`;
  sendInBackground(deps.mailer, log, securedAccountResetMail(user.email, url));
  return user.id;
}
