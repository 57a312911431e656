import { defineErrors } from '../../platform/errors.js';

export const adminUserErrors = {
  cannot_modify_self: {
    status: 409,
    title:
      'Administrators cannot remove their own admin role, lock, delete, reset the MFA of or require a password reset of themselves',
  },
  email_taken: { status: 409, title: 'An account with this email address already exists' },
  mfa_enrollment_required: {
    status: 403,
    title:
      'This needs an administrator with a second factor: enrol with POST /auth/mfa/totp/setup and /auth/mfa/totp/confirm, then log in again',
  },
} as const;

export const adminUserError = defineErrors(adminUserErrors);
