import { defineErrors } from '../../platform/errors.js';

export const webhookErrors = {
  invalid_signature: {
    status: 400,
    title: 'The Stripe-Signature header is missing, wrong or too old',
  },
} as const;

export const webhookError = defineErrors(webhookErrors);
