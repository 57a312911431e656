/** The owner hears of every new way into the account, with the "this was not me" link. */
import type { FastifyBaseLogger } from 'fastify';
import { type AccountDeps, sendNotice } from '../accounts/accounts.service.js';
import { findUserById } from '../accounts/accounts.store.js';
import { mfaChangedMail } from '../accounts/mails.js';

export function notifyIdentityLinked(
  deps: AccountDeps,
  log: FastifyBaseLogger,
  userId: string,
  provider: string,
): void {
  findUserById(deps.db, userId)
    .then((user) => {
      if (!user) return;
      const what = `Signing in with ${provider} was linked to your account: it now signs you in too.`;
      sendNotice(deps, log, user, (url) => mfaChangedMail(user.email, what, url));
    })
    .catch((err: unknown) =>
      log.warn({ event: 'mail_failed', errName: (err as Error)?.name }, 'notice could not be sent'),
    );
}
