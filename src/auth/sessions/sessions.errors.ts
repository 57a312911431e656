import { defineErrors } from '../../platform/errors.js';

export const sessionErrors = {
  csrf_failed: { status: 403, title: 'The CSRF token is missing or wrong' },
  refresh_token_reused: {
    status: 401,
    title: 'This refresh token was already used; the session has been revoked',
  },
} as const;

export const sessionError = defineErrors(sessionErrors);
