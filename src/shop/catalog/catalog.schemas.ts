import { z } from 'zod';
import { blockText, lineText, pageOf } from '../shop.schemas.js';

export const MAX_PRICE_CENTS = 10_000_000_00;
export const MAX_STOCK = 1_000_000;

// A name is one line shown to every shopper: no bidi overrides or separators (Trojan Source).
const name = lineText(200).trim().min(1);
// Descriptions may span lines; other control characters and bidi controls are still refused.
const description = blockText(5000);
const priceCents = z.number().int().min(0).max(MAX_PRICE_CENTS);
const stock = z.number().int().min(0).max(MAX_STOCK);

export const ProductBody = z.strictObject({
  name,
  description: description.optional(),
  priceCents,
  stock,
});
export type ProductBody = z.infer<typeof ProductBody>;

export const ProductPatch = z
  .strictObject({
    name: name.optional(),
    description: description.optional(),
    priceCents: priceCents.optional(),
    stock: stock.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'nothing to change');
export type ProductPatch = z.infer<typeof ProductPatch>;

export const ProductView = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  priceCents: z.number().int(),
  stock: z.number().int(),
  imageUrl: z.string().nullable(),
  createdAt: z.iso.datetime(),
});

export const ProductList = pageOf(ProductView);
