import { z } from 'zod';
import { lineText, pageOf } from '../shop.schemas.js';

export const MAX_QUANTITY = 100;
export const MAX_LINES = 50;

const OrderLine = z.strictObject({
  productId: z.uuid(),
  quantity: z.number().int().min(1).max(MAX_QUANTITY),
});

/** Prices, totals and the buyer are never taken from the client: strict objects refuse them. */
export const OrderBody = z.strictObject({
  items: z
    .array(OrderLine)
    .min(1)
    .max(MAX_LINES)
    .refine(
      (items) => new Set(items.map((i) => i.productId.toLowerCase())).size === items.length,
      'each product may appear once; set its quantity instead',
    ),
  /** One line for the people who read it: no control, separator or bidi characters. */
  instructions: lineText(500).optional(),
});
export type OrderBody = z.infer<typeof OrderBody>;

/** 1–255 visible ASCII characters (RFC 9110 token-ish; no spaces or control characters). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export const OrderView = z.object({
  id: z.uuid(),
  userId: z.uuid(),
  items: z.array(
    z.object({
      productId: z.uuid(),
      quantity: z.number().int(),
      unitPriceCents: z.number().int(),
    }),
  ),
  totalCents: z.number().int(),
  instructions: z.string().nullable(),
  status: z.string(),
  createdAt: z.iso.datetime(),
});
export type OrderView = z.infer<typeof OrderView>;

export const OrderList = pageOf(OrderView);
