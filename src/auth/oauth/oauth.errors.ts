/**
 * Social login codes. The callback answers them as a redirect to `/login?error=<code>` (a
 * browser is on the other end, DESIGN.md); the identity routes answer them as problem+json.
 */
import { defineErrors } from '../../platform/errors.js';

export const oauthErrors = {
  oauth_state_invalid: { status: 400, title: 'The sign-in link is unknown, used or expired' },
  oauth_email_unverified: {
    status: 403,
    title: 'Log in with your password and link this provider from your account',
  },
  oauth_account_exists: {
    status: 409,
    title: 'This address belongs to an account linked to another identity at this provider',
  },
  oauth_provider_error: { status: 502, title: 'The provider did not complete the sign-in' },
  oauth_account_locked: { status: 403, title: 'This account cannot sign in' },
  last_sign_in_method: { status: 409, title: 'This is the last way to sign in to the account' },
  oauth_identity_in_use: {
    status: 409,
    title: 'This provider account is already linked to another account',
  },
  oauth_link_invalid: {
    status: 400,
    title:
      'The link request is unknown, used, expired or from another browser: start again from your account',
  },
} as const;

export type OAuthErrorCode = keyof typeof oauthErrors;

export const oauthError = defineErrors(oauthErrors);

/** The codes the callback may put in `/login?error=`; anything else becomes the generic one. */
export const REDIRECT_CODES: ReadonlySet<string> = new Set([
  'oauth_state_invalid',
  'oauth_email_unverified',
  'oauth_account_exists',
  'oauth_provider_error',
  'oauth_account_locked',
  'oauth_identity_in_use',
  'oauth_link_invalid',
  'rate_limited',
]);
