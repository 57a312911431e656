/**
 * The email-change mails (issue 19), in mails.ts's style: each carries at most one secret, its
 * one-time link token, and nothing the account holder typed (the new address is not proved yet).
 */
import type { Mail } from '../../platform/mail/mailer.js';
import { compose } from './mails.js';

/** To the new address: nothing changes until the link is followed. */
export function confirmEmailChangeMail(to: string, url: string): Mail {
  return compose(
    to,
    'Confirm your new email address',
    [
      'An account asked to use this address from now on. Open the link to confirm it; until then nothing changes. The link works once, for 24 hours.',
      'If you did not ask for this, ignore this mail: the address stays unused.',
    ],
    { url, label: 'Confirm the new address' },
  );
}

/** To the owner of an address another account tried to move to: no link, nothing changed. */
export function emailTakenMail(to: string): Mail {
  return compose(to, 'Someone tried to use your address', [
    'Someone, perhaps you, tried to move another account to this email address, which already belongs to your account.',
    'Nothing changed: your account and its address stay as they are. You can ignore this mail.',
  ]);
}

/** To the old address once the change is confirmed, with the 7-day revert link. */
export function emailChangedMail(to: string, revertUrl: string): Mail {
  return compose(
    to,
    'Your email address was changed',
    [
      'The email address of your account was just changed, and the other sessions were signed out. Mails about the account now go to the new address.',
      'If this was not you, use the link below within 7 days: it puts this address back, signs out every session and sends you a link to choose a new password.',
    ],
    { url: revertUrl, label: 'This was not me: undo the change' },
  );
}
