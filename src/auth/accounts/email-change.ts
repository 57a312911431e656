/**
 * Change of the account's email address (issue 19; DESIGN.md "Account lifecycle").
 *
 * - Request (bearer + recent login + the current password): the password is checked like every
 *   current-password check (login throttle of the account and address, the account's own place
 *   on the hash pool). A free address gets a confirm link; an address another account holds gets
 *   its owner a notice instead, and the caller the same 202: nothing says which.
 * - Confirm (the link's token is the credential): the account moves to the new address, which
 *   counts as verified (the link proved the mailbox); the sessions but the requesting one end;
 *   the old address is mailed a revert link valid 7 days.
 * - Revert (the old address's token): the old address is back, every session ends, password
 *   sign-in is blocked until a reset and a reset link goes to the old address ("this was not me":
 *   whoever changed the address knew the password). Revert links of later changes die.
 *
 * Social-login identities are keyed by (issuer, subject) and stay with the account. Links are
 * single-use and stored hashed (`one_time_tokens`); the addresses a link stands for are in
 * `email_change_tokens`, erased with the token.
 */
import type { FastifyBaseLogger } from 'fastify';
import { type AccountAction, appendAccountChange } from '../../platform/audit/account-audit.js';
import { randomToken, sha256Hex } from '../../platform/crypto.js';
import type { Db } from '../../platform/db/database.js';
import type { User } from '../../platform/db/schema.js';
import { AppError, platformError } from '../../platform/errors.js';
import { emitLifecycle } from '../../platform/lifecycle/lifecycle.js';
import type { Mail } from '../../platform/mail/mailer.js';
import type { Limiter } from '../../platform/rate-limit/limiters.js';
import { accountError } from './accounts.errors.js';
import { type AccountDeps, RESET_TOKEN_TTL_MS } from './accounts.service.js';
import {
  blockPasswordLogin,
  findUserByEmailKey,
  findUserById,
  invalidateLinkTokens,
} from './accounts.store.js';
import { normalizeEmail } from './email.js';
import { confirmEmailChangeMail, emailChangedMail, emailTakenMail } from './email-change.mails.js';
import {
  addressTaken,
  consumeEmailChangeLink,
  insertEmailChangeLink,
  insertLinkToken,
  invalidateLaterRevertLinks,
  lockUser,
  setAddress,
} from './email-change.store.js';
import type { LoginThrottle } from './login-throttle.js';
import { securedAccountResetMail } from './mails.js';
import { checkCurrentPassword } from './password-change.js';

/** The confirm link, like a verification link: 24 hours. */
export const CONFIRM_EMAIL_TOKEN_TTL_MS = 24 * 3600_000;
/** The old address may take the account back for a week (DESIGN.md). */
export const REVERT_EMAIL_TOKEN_TTL_MS = 7 * 24 * 3600_000;

export interface EmailChangeDeps {
  readonly accounts: AccountDeps;
  readonly throttle: LoginThrottle;
  /** Unsolicited mails per address and hour (the registration cap: the address is unproved). */
  readonly addressMails: Limiter;
}

export interface Caller {
  readonly userId: string;
  readonly sessionId: string;
  readonly ip: string;
}

/** Sends off the request path: SMTP latency must not tell a taken address from a free one. */
function sendLater(deps: EmailChangeDeps, log: FastifyBaseLogger, mail: Mail): void {
  deps.accounts.mailer.send(mail).catch((err: unknown) => {
    log.warn({ event: 'mail_failed', errName: (err as Error)?.name }, 'mail could not be sent');
  });
}

/** Counts one mail to an address; false (mail withheld, same answer) past the cap or on failure. */
async function mayMail(deps: EmailChangeDeps, log: FastifyBaseLogger, key: string) {
  try {
    await deps.addressMails.consume(key);
    return true;
  } catch (err) {
    const capped = err instanceof AppError && err.code === 'rate_limited';
    log.info({ event: capped ? 'email_change_mail_suppressed' : 'email_change_mail_cap_failed' });
    return false;
  }
}

function linkUrl(deps: EmailChangeDeps, page: string, token: string): string {
  return `${deps.accounts.config.linkBaseUrl}/${page}?token=${encodeURIComponent(token)}`;
}

async function audit(
  deps: EmailChangeDeps,
  trx: Db,
  ip: string,
  userId: string,
  action: AccountAction,
  now: Date,
) {
  await appendAccountChange(deps.accounts.audit, trx, now, { userId, action, ip });
}

/**
 * POST /auth/email/change. Answers nothing (the route says 202) whether the address is free or
 * taken; throws 400 `validation_failed` for an address register would refuse or the account's
 * own, 401 `invalid_credentials` for a wrong password (counted in the login throttle).
 */
export async function requestEmailChange(
  deps: EmailChangeDeps,
  log: FastifyBaseLogger,
  caller: Caller,
  input: { readonly newEmail: string; readonly password: string },
): Promise<void> {
  const { accounts } = deps;
  const user = await findUserById(accounts.db, caller.userId);
  if (!user || user.deleted_at) throw platformError('unauthorized');
  const address = normalizeEmail(input.newEmail);
  if (!address) {
    throw platformError('validation_failed', {
      errors: [{ path: 'body.newEmail', message: 'not a valid email address' }],
    });
  }
  if (!(await checkCurrentPassword(deps, log, user, caller.ip, input.password))) {
    throw accountError('invalid_credentials');
  }
  if (address.key === user.email_key) {
    throw platformError('validation_failed', {
      errors: [{ path: 'body.newEmail', message: 'is already the address of this account' }],
    });
  }
  const now = new Date(accounts.clock.now());
  const owner = await findUserByEmailKey(accounts.db, address.key);
  const token = randomToken();
  await accounts.db.transaction().execute(async (trx) => {
    // A newer request replaces the older ones: only the last confirm link works.
    await invalidateLinkTokens(trx, user.id, ['confirm_email'], now);
    if (!owner) {
      await insertEmailChangeLink(trx, {
        userId: user.id,
        purpose: 'confirm_email',
        tokenHash: sha256Hex(token),
        expiresAt: new Date(now.getTime() + CONFIRM_EMAIL_TOKEN_TTL_MS),
        now,
        old_email: user.email,
        old_email_key: user.email_key,
        new_email: address.email,
        new_email_key: address.key,
        session_id: caller.sessionId,
      });
    }
    await audit(deps, trx, caller.ip, user.id, 'account.email_change_requested', now);
  });
  if (!(await mayMail(deps, log, address.key))) return;
  if (!owner) {
    sendLater(
      deps,
      log,
      confirmEmailChangeMail(address.email, linkUrl(deps, 'confirm-email', token)),
    );
  } else if (!owner.deleted_at && owner.id !== user.id) {
    sendLater(deps, log, emailTakenMail(owner.email));
  }
}

/**
 * POST /auth/email/confirm. Moves the account to the new address and mails the old one its
 * revert link; returns the account and the session to keep. A used, expired or unknown token,
 * one of a request a newer one replaced, or an address taken meanwhile: 400 `invalid_token`.
 */
export async function confirmEmailChange(
  deps: EmailChangeDeps,
  log: FastifyBaseLogger,
  input: { readonly token: string; readonly ip: string },
): Promise<{ user: User; keepSessionId: string | null }> {
  const { accounts } = deps;
  const now = new Date(accounts.clock.now());
  const revertToken = randomToken();
  const done = await accounts.db.transaction().execute(async (trx) => {
    const link = await consumeEmailChangeLink(trx, sha256Hex(input.token), 'confirm_email', now);
    if (!link) return undefined;
    const user = await lockUser(trx, link.user_id);
    // The account must still have the address the change started from.
    if (!user || user.deleted_at || user.email_key !== link.old_email_key) return undefined;
    if (await addressTaken(trx, link.new_email_key, user.id)) return undefined;
    await insertEmailChangeLink(trx, {
      userId: user.id,
      purpose: 'revert_email',
      tokenHash: sha256Hex(revertToken),
      expiresAt: new Date(now.getTime() + REVERT_EMAIL_TOKEN_TTL_MS),
      now,
      old_email: link.old_email,
      old_email_key: link.old_email_key,
      new_email: link.new_email,
      new_email_key: link.new_email_key,
      session_id: null,
    });
    const updated = await setAddress(
      trx,
      user.id,
      { email: link.new_email, key: link.new_email_key },
      now,
    );
    // Links mailed to the old address would act on the account from a mailbox it left.
    await invalidateLinkTokens(trx, user.id, ['verify_email', 'reset_password'], now);
    await audit(deps, trx, input.ip, user.id, 'account.email_changed', now);
    await emitLifecycle(trx, { type: 'user.email_changed', userId: user.id, data: {} });
    return { user: updated, oldEmail: link.old_email, keepSessionId: link.session_id };
  });
  if (!done) throw accountError('invalid_token');
  sendLater(deps, log, emailChangedMail(done.oldEmail, linkUrl(deps, 'revert-email', revertToken)));
  return { user: done.user, keepSessionId: done.keepSessionId };
}

/**
 * POST /auth/email/revert. Puts the old address back (verified: its owner followed the link),
 * blocks password sign-in until a reset and mails the reset link; returns the account's id (the
 * caller ends every session). Used, expired, unknown, or the old address taken meanwhile:
 * 400 `invalid_token`.
 */
export async function revertEmailChange(
  deps: EmailChangeDeps,
  log: FastifyBaseLogger,
  input: { readonly token: string; readonly ip: string },
): Promise<string> {
  const { accounts } = deps;
  const now = new Date(accounts.clock.now());
  const resetToken = randomToken();
  const done = await accounts.db.transaction().execute(async (trx) => {
    const link = await consumeEmailChangeLink(trx, sha256Hex(input.token), 'revert_email', now);
    if (!link) return undefined;
    const user = await lockUser(trx, link.user_id);
    if (!user || user.deleted_at) return undefined;
    if (await addressTaken(trx, link.old_email_key, user.id)) return undefined;
    await setAddress(trx, user.id, { email: link.old_email, key: link.old_email_key }, now);
    // Every link mailed since the change went to addresses the owner does not vouch for.
    await invalidateLinkTokens(
      trx,
      user.id,
      ['confirm_email', 'verify_email', 'reset_password'],
      now,
    );
    await invalidateLaterRevertLinks(trx, user.id, link.created_at, now);
    // Whoever changed the address knew the password: it stops working until a reset.
    await blockPasswordLogin(trx, user.id, now);
    await insertLinkToken(
      trx,
      user.id,
      'reset_password',
      sha256Hex(resetToken),
      new Date(now.getTime() + RESET_TOKEN_TTL_MS),
      now,
    );
    await audit(deps, trx, input.ip, user.id, 'account.email_change_reverted', now);
    await emitLifecycle(trx, {
      type: 'user.email_changed',
      userId: user.id,
      data: { reverted: true },
    });
    return { userId: user.id, email: link.old_email };
  });
  if (!done) throw accountError('invalid_token');
  sendLater(
    deps,
    log,
    securedAccountResetMail(done.email, linkUrl(deps, 'reset-password', resetToken)),
  );
  return done.userId;
}
