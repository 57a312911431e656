/**
 * Accounts created by invitation (issue 19): an administrator names an address (and roles), the
 * address gets a single-use link valid 7 days, and whoever follows it chooses the password. The
 * administrator never sees or chooses one. The link token is stored as SHA-256 only; the account
 * it names is the only one it can touch, and only while that account has no password yet.
 */
import type { FastifyBaseLogger } from 'fastify';
import { uuidv7 } from 'uuidv7';
import { accountError } from '../../auth/accounts/accounts.errors.js';
import { type AccountDeps, enforcePolicy } from '../../auth/accounts/accounts.service.js';
import {
  consumeOneTimeToken,
  findUserById,
  insertUserIfNew,
  peekOneTimeToken,
} from '../../auth/accounts/accounts.store.js';
import { normalizeDisplayName, normalizeEmail } from '../../auth/accounts/email.js';
import { normalizePassword } from '../../auth/passwords/policy.js';
import { effectiveRoles } from '../../auth/sessions/sessions.service.js';
import { appendAudit } from '../../platform/audit/audit.store.js';
import { randomToken, sha256Hex } from '../../platform/crypto.js';
import type { Db } from '../../platform/db/database.js';
import type { User } from '../../platform/db/schema.js';
import { platformError } from '../../platform/errors.js';
import { emitLifecycle } from '../../platform/lifecycle/lifecycle.js';
import type { Mail } from '../../platform/mail/mailer.js';
import { invitationMail } from './admin-support.mails.js';
import type { InviteBody } from './admin-support.schemas.js';
import { setInvitedPassword, storeLinkToken } from './admin-support.store.js';
import { adminUserError } from './admin-users.errors.js';
import type { Actor } from './admin-users.service.js';

/** An invitation link works once, for 7 days (such mails are often read late). */
export const INVITATION_TOKEN_TTL_MS = 7 * 24 * 3600_000;

/** Sends without making the caller wait; a failure is logged (no address, no link). */
export function sendInBackground(deps: AccountDeps, log: FastifyBaseLogger, mail: Mail): void {
  deps.mailer.send(mail).catch((err: unknown) => {
    log.warn({ event: 'mail_failed', errName: (err as Error)?.name }, 'mail could not be sent');
  });
}

/**
 * A fresh invitation link for `userId`, stored inside `trx` (older links of the account die);
 * returns the mail to send once `trx` has committed.
 */
export async function issueInvitation(
  deps: AccountDeps,
  trx: Db,
  user: { id: string; email: string },
  now: Date,
): Promise<Mail> {
  const token = randomToken();
  const expires = new Date(now.getTime() + INVITATION_TOKEN_TTL_MS);
  await storeLinkToken(trx, user.id, 'invitation', sha256Hex(token), expires, now);
  const url = `${deps.config.linkBaseUrl}/accept-invite?token=${encodeURIComponent(token)}`;
  return invitationMail(user.email, url);
}

/**
 * Creates an unverified account without a password and mails its invitation. The account, its
 * link, the audit entry and the `user.created` event commit together. An address that already
 * has an account: 409 `email_taken` (only administrators can ask, so this enumerates nothing).
 */
export async function inviteUser(
  deps: AccountDeps,
  actor: Actor,
  input: InviteBody,
): Promise<User> {
  const email = normalizeEmail(input.email);
  if (!email) {
    throw platformError('validation_failed', {
      errors: [{ path: 'body.email', message: 'not a valid email address' }],
    });
  }
  // The invitee may change it later; the mail never shows it.
  const displayName = normalizeDisplayName(email.localPart) ?? 'New user';
  const roles = [...new Set((input.roles ?? []).filter((r) => r !== 'user'))].sort();
  const { user, mail } = await deps.db.transaction().execute(async (trx) => {
    const now = new Date(deps.clock.now());
    const created = await insertUserIfNew(trx, {
      id: uuidv7(),
      email: email.email,
      email_key: email.key,
      display_name: displayName,
      password_hash: null,
      roles,
      email_verified_at: null,
      avatar_url: null,
      created_at: now,
      updated_at: now,
    });
    if (!created) throw adminUserError('email_taken');
    const mail = await issueInvitation(deps, trx, created, now);
    await appendAudit(
      deps.audit,
      trx,
      {
        actorId: actor.principal.userId,
        action: 'admin.user.invited',
        targetType: 'user',
        targetId: created.id,
        ip: actor.ip,
        detail: { roles },
      },
      now,
    );
    await emitLifecycle(trx, {
      type: 'user.created',
      userId: created.id,
      data: { roles: effectiveRoles(roles), emailVerified: false, via: 'invitation' },
    });
    return { user: created, mail };
  });
  sendInBackground(deps, actor.log, mail);
  return user;
}

/**
 * Sets the invitee's password from the link. The token is peeked, the password checked against
 * the policy (a refused password does not burn the link), and then the token is used up and the
 * password set in one transaction: of two concurrent accepts exactly one wins. Used, expired,
 * unknown or altered tokens, and accounts that already have a password, are 400 `invalid_token`.
 */
export async function acceptInvitation(
  deps: AccountDeps,
  ip: string | null,
  input: { token: string; password: string },
): Promise<User> {
  const tokenHash = sha256Hex(input.token);
  const userId = await peekOneTimeToken(
    deps.db,
    tokenHash,
    'invitation',
    new Date(deps.clock.now()),
  );
  const user = userId ? await findUserById(deps.db, userId) : undefined;
  if (!user || user.deleted_at || user.locked || user.password_hash !== null) {
    throw accountError('invalid_token');
  }
  const password = normalizePassword(input.password);
  enforcePolicy(deps, password, user.email, user.display_name);
  const hash = await deps.hasher.hash(password);
  return deps.db.transaction().execute(async (trx) => {
    const now = new Date(deps.clock.now());
    const consumed = await consumeOneTimeToken(trx, tokenHash, 'invitation', now);
    if (consumed !== user.id) throw accountError('invalid_token');
    const updated = await setInvitedPassword(trx, user.id, hash, now);
    if (!updated) throw accountError('invalid_token');
    await appendAudit(
      deps.audit,
      trx,
      {
        actorId: user.id,
        action: 'account.invitation_accepted',
        targetType: 'user',
        targetId: user.id,
        ip,
      },
      now,
    );
    await emitLifecycle(trx, {
      type: 'user.verified',
      userId: user.id,
      data: { via: 'invitation' },
    });
    return updated;
  });
}
