/**
 * Password change for an authenticated user (POST /auth/password/change). A stolen access token
 * must not turn this route into a password oracle or a lever on the hash pool (issue 14):
 *
 * - the new password's policy is checked first, so `weak_password` says nothing about the
 *   current password (it answers the same whatever was sent as `currentPassword`);
 * - with MFA on, a code (TOTP or recovery) is required and checked before the current password,
 *   counted in the account's code budget like every other code check;
 * - the current-password check counts in the login throttle of the account and the client
 *   address (same budget, backoff and security events as logins);
 * - every hash runs as the account's own on the hash pool, which lets one account hold at most
 *   `HASH_PER_ACCOUNT` places: a burst from one account is refused with 429, not queued in front
 *   of everyone else's logins.
 *
 * A change uses up the reset and "this was not me" links mailed before it.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { User } from '../../platform/db/schema.js';
import { AppError, platformError } from '../../platform/errors.js';
import { emitLifecycle } from '../../platform/lifecycle/lifecycle.js';
import { type MfaDeps, verifySecondFactor } from '../mfa/mfa.service.js';
import { normalizePassword } from '../passwords/policy.js';
import { wrongCurrentPassword } from './accounts.errors.js';
import { type AccountDeps, enforcePolicy, sendNotice } from './accounts.service.js';
import { findUserById, invalidateLinkTokens, setPasswordHash } from './accounts.store.js';
import type { LoginAttempt, LoginThrottle } from './login-throttle.js';
import { passwordChangedMail } from './mails.js';

export interface PasswordChangeDeps {
  readonly accounts: AccountDeps;
  readonly throttle: LoginThrottle;
  readonly mfa: MfaDeps;
}

export interface PasswordChangeInput {
  readonly currentPassword: string;
  readonly newPassword: string;
  /** TOTP or recovery code; required when the account has MFA on. */
  readonly code?: string | undefined;
}

/** 401 `mfa_required` on a change: the code goes in this request's `code`, not to a login step. */
export function changeNeedsCode(): AppError {
  return new AppError(
    'mfa_required',
    401,
    'This account uses MFA: send a code from the authenticator app (or a recovery code) as `code`',
  );
}

/**
 * Checks a signed-in user's current password the way every such check must (DESIGN.md): inside
 * the login throttle of the account and the client address (429 past the budget, a wrong one
 * counted like a failed login), as the account's own on the hash pool. Shared by the password
 * and email changes; the caller chooses the refusal.
 */
export async function checkCurrentPassword(
  deps: Pick<PasswordChangeDeps, 'accounts' | 'throttle'>,
  log: FastifyBaseLogger,
  user: User,
  ip: string,
  password: string,
): Promise<boolean> {
  const attempt: LoginAttempt = { ip, accountKey: user.email_key, knownDevice: false };
  await deps.throttle.admit(attempt);
  let valid: boolean;
  try {
    valid = (
      await deps.accounts.hasher.verify(user.password_hash, normalizePassword(password), {
        owner: `user:${user.id}`,
      })
    ).valid;
  } catch (err) {
    // No verdict (pool full, or the account's share of it taken): the attempt does not count.
    await deps.throttle.abandoned(attempt);
    throw err;
  }
  if (valid) await deps.throttle.succeeded(attempt);
  else await deps.throttle.failed(attempt, log, async () => user.id);
  return valid;
}

/** Changes the password of an authenticated user after checking the current one. */
export async function changePassword(
  deps: PasswordChangeDeps,
  log: FastifyBaseLogger,
  caller: { readonly userId: string; readonly ip: string },
  input: PasswordChangeInput,
): Promise<void> {
  const { accounts } = deps;
  const user = await findUserById(accounts.db, caller.userId);
  if (!user) throw platformError('unauthorized');
  // The policy first: a weak new password is refused before the current one is looked at.
  const password = normalizePassword(input.newPassword);
  enforcePolicy(accounts, password, user.email, user.display_name);

  if (user.mfa_enabled) {
    if (!input.code) throw changeNeedsCode();
    // Before the password: without the second factor a token thief learns nothing of it.
    await verifySecondFactor(deps.mfa, { id: user.id, ip: caller.ip }, input.code);
  }

  const hashing = { owner: `user:${user.id}` };
  const valid = await checkCurrentPassword(deps, log, user, caller.ip, input.currentPassword);
  if (!valid) throw wrongCurrentPassword();

  const now = new Date(accounts.clock.now());
  const hash = await accounts.hasher.hash(password, hashing);
  await accounts.db.transaction().execute(async (trx) => {
    await setPasswordHash(trx, user.id, hash, now);
    const data = { via: 'change' };
    await emitLifecycle(trx, { type: 'user.password_changed', userId: user.id, data });
  });
  // Links mailed before the change would undo it, or lock the owner out with the old state.
  await invalidateLinkTokens(accounts.db, user.id, ['reset_password', 'secure_account'], now);
  sendNotice(accounts, log, user, (secureUrl) => passwordChangedMail(user.email, secureUrl));
}
