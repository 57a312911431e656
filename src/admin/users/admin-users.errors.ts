import { defineErrors } from '../../platform/errors.js';

export const adminUserErrors = {
  cannot_modify_self: {
    status: 409,
    title: 'Administrators cannot remove their own admin role, lock or delete themselves',
  },
} as const;

export const adminUserError = defineErrors(adminUserErrors);
