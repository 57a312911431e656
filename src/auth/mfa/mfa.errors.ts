import { defineErrors } from '../../platform/errors.js';

export const mfaErrors = {
  mfa_required: {
    status: 401,
    title: 'A second factor is required: send the code to /auth/login/mfa',
  },
  invalid_mfa_code: { status: 401, title: 'The code is wrong or was already used' },
  invalid_mfa_token: {
    status: 401,
    title: 'The MFA challenge is invalid, expired or used up; log in again',
  },
  mfa_already_enabled: { status: 409, title: 'MFA is already on' },
  mfa_not_enabled: { status: 409, title: 'MFA is not on' },
  mfa_setup_required: { status: 409, title: 'Start with POST /auth/mfa/totp/setup' },
  mfa_enrollment_required: {
    status: 403,
    title:
      'Administrators must use MFA: enrol with POST /auth/mfa/totp/setup and /auth/mfa/totp/confirm, then log in again',
  },
  reauthentication_required: {
    status: 401,
    title: 'Log in again to do this (the last login is over 5 minutes old)',
  },
} as const;

export const mfaError = defineErrors(mfaErrors);
