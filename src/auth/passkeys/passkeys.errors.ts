/** Passkey codes (issue 15); a failed passkey sign-in answers `invalid_credentials` like a login. */
import { defineErrors } from '../../platform/errors.js';

export const passkeyErrors = {
  passkey_challenge_invalid: {
    status: 400,
    title: 'The passkey request is unknown, used, expired or from another browser: start again',
  },
  passkey_invalid: { status: 400, title: 'The passkey could not be verified' },
  passkey_exists: { status: 409, title: 'This passkey is already registered' },
  last_sign_in_method: { status: 409, title: 'This is the last way to sign in to the account' },
} as const;

export const passkeyError = defineErrors(passkeyErrors);
