import { z } from 'zod';

export const WebhookAck = z.object({ received: z.literal(true) });

/** The part of a `payment_intent.succeeded` object a credit needs; anything else is ignored. */
export const PaymentIntent = z.object({
  amount_received: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  currency: z.string(),
  metadata: z.object({ userId: z.uuid() }),
});
