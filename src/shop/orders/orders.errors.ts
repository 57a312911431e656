import { defineErrors } from '../../platform/errors.js';

export const orderErrors = {
  idempotency_key_required: {
    status: 400,
    title: 'An Idempotency-Key header (1-255 visible ASCII characters) is required',
  },
  idempotency_key_reused: {
    status: 422,
    title: 'This Idempotency-Key was used with a different request',
  },
  idempotency_request_in_progress: {
    status: 409,
    title: 'A request with this Idempotency-Key is still being processed',
  },
  insufficient_funds: { status: 402, title: 'The wallet balance does not cover this order' },
  out_of_stock: { status: 409, title: 'A product does not have enough stock' },
  unknown_product: { status: 422, title: 'A product does not exist' },
} as const;

export type OrderErrorCode = keyof typeof orderErrors;

export const orderError = defineErrors(orderErrors);
