import { AppError, defineErrors } from '../../platform/errors.js';

export const accountErrors = {
  invalid_credentials: { status: 401, title: 'The email or password is wrong' },
  email_not_verified: { status: 403, title: 'Verify your email address first' },
  weak_password: { status: 400, title: 'The password does not meet the policy' },
  invalid_token: { status: 400, title: 'The link is invalid, expired or already used' },
  password_reset_required: {
    status: 403,
    title: 'An administrator requires a new password: use the reset link we just mailed',
  },
} as const;

export const accountError = defineErrors(accountErrors);

/** A wrong current password on a password change: 403, the caller is already authenticated. */
export function wrongCurrentPassword(): AppError {
  return new AppError('invalid_credentials', 403, 'The current password is wrong');
}
