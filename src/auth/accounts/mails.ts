/**
 * The account mails. Each carries at most one secret, the one-time link token; every dynamic
 * value in the HTML part is escaped.
 */
import { escapeHtml, type Mail } from '../../platform/mail/mailer.js';

export function compose(
  to: string,
  subject: string,
  lines: string[],
  link?: { url: string; label: string },
): Mail {
  const text = [...lines, ...(link ? ['', `${link.label}: ${link.url}`] : [])].join('\n');
  const paragraphs = lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('');
  const anchor = link
    ? `<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p>`
    : '';
  return {
    to,
    subject,
    text,
    html: `<!doctype html><html><body>${paragraphs}${anchor}</body></html>`,
  };
}

/**
 * Goes to an address nobody has proved yet: it carries no text the registrant chose (issue 14,
 * item 5), and the link alone verifies nothing (the page asks for the account's password).
 */
export function verificationMail(to: string, url: string): Mail {
  return compose(
    to,
    'Confirm your email address',
    [
      'Confirm your email address to finish creating your account: open the link and enter the password you chose. The link works once, for 24 hours.',
      'If you did not sign up, ignore this mail: the address cannot be confirmed without that password. To take the address over yourself, use "Forgot password" on the sign-in page.',
    ],
    { url, label: 'Confirm your email' },
  );
}

export function alreadyRegisteredMail(to: string, linkBaseUrl: string): Mail {
  return compose(
    to,
    'Someone tried to register with your address',
    [
      'Someone, perhaps you, tried to create an account with this email address, which already has one.',
      'If it was you, sign in instead, or reset your password if you forgot it. If not, you can ignore this mail: nothing changed.',
    ],
    { url: `${linkBaseUrl}/login`, label: 'Sign in' },
  );
}

export function resetMail(to: string, url: string): Mail {
  return compose(
    to,
    'Reset your password',
    [
      'A password reset was requested for your account. The link works once, for 30 minutes.',
      'If you did not ask for it, ignore this mail: your password stays as it is.',
    ],
    { url, label: 'Choose a new password' },
  );
}

/** The reset link "this was not me" sends: password sign-in stays blocked until it is used. */
export function securedAccountResetMail(to: string, url: string): Mail {
  return compose(
    to,
    'Reset your password',
    [
      'Every session of your account was signed out, and nobody can sign in with your current password any more, you included: choose a new one with the link below. It works once, for 30 minutes.',
      'If it has expired, ask for a new one with "Forgot password" on the sign-in page.',
    ],
    { url, label: 'Choose a new password' },
  );
}

export function passwordChangedMail(to: string, secureUrl: string): Mail {
  return compose(
    to,
    'Your password was changed',
    [
      'The password of your account was just changed, and your other sessions were signed out.',
      'If this was not you, use the link below: it signs out every session and sends you a password reset link.',
    ],
    { url: secureUrl, label: 'This was not me' },
  );
}

/** `what` is one of the MFA service's fixed sentences, e.g. "… was turned on …". */
export function mfaChangedMail(to: string, what: string, secureUrl: string): Mail {
  return compose(
    to,
    'Your sign-in security changed',
    [
      what,
      'If this was not you, use the link below: it signs out every session and sends you a password reset link. Then contact your administrator.',
    ],
    { url: secureUrl, label: 'This was not me' },
  );
}

export function newDeviceMail(
  to: string,
  when: Date,
  ip: string,
  userAgent: string,
  secureUrl: string,
): Mail {
  return compose(
    to,
    'New sign-in to your account',
    [
      `Your account was signed in to from a new device at ${when.toISOString()}.`,
      `Address: ${ip}. Browser: ${userAgent || 'unknown'}.`,
      'If this was you, there is nothing to do. If not, use the link below: it signs out every session and sends you a password reset link.',
    ],
    { url: secureUrl, label: 'This was not me' },
  );
}

export function sessionTheftMail(to: string, secureUrl: string): Mail {
  return compose(
    to,
    'A session of your account was stopped',
    [
      'A sign-in token of your account was used twice, which happens when it was copied. That session was signed out.',
      'If you do not recognise this, use the link below: it signs out every session and sends you a password reset link.',
    ],
    { url: secureUrl, label: 'This was not me' },
  );
}

/** After `DELETE /users/me` (issue 19), to the address the account had; carries no link. */
export function accountDeletedMail(to: string): Mail {
  return compose(to, 'Your account was deleted', [
    'Your account and the personal data it held were deleted at your request; you were signed out everywhere.',
    'Orders and wallet records are kept for accounting, without your name or address. If you did not do this, someone signed in with your password: tell the people who run this service.',
  ]);
}
