/**
 * The mails of the administrator support tools. The invitation goes to an address nobody has
 * proved yet: it carries the link and no text anyone chose (no display name, no admin's words).
 */
import { escapeHtml, type Mail } from '../../platform/mail/mailer.js';

function compose(to: string, subject: string, lines: string[], url: string, label: string): Mail {
  return {
    to,
    subject,
    text: [...lines, '', `${label}: ${url}`].join('\n'),
    html:
      '<!doctype html><html><body>' +
      lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('') +
      `<p><a href="${escapeHtml(url)}">${escapeHtml(label)}</a></p></body></html>`,
  };
}

export function invitationMail(to: string, url: string): Mail {
  return compose(
    to,
    'You are invited: choose your password',
    [
      'An administrator created an account for this address. Open the link and choose your password to start using it. The link works once, for 7 days.',
      'If you did not expect this, ignore this mail: nobody can sign in to the account until a password is chosen with this link.',
    ],
    url,
    'Choose your password',
  );
}

/** What the "your sign-in security changed" notice says after an administrator's MFA reset. */
export const MFA_RESET_NOTICE =
  'An administrator removed the second factor of your account (authenticator app and recovery codes) and signed out every session. Sign in with your password and set up a new second factor.';
