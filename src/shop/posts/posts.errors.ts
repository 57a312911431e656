import { defineErrors } from '../../platform/errors.js';

export const postErrors = {
  empty_content: {
    status: 422,
    title: 'Nothing is left of the content once disallowed markup is removed',
  },
} as const;

export const postError = defineErrors(postErrors);
