import { z } from 'zod';
import { pageOf } from '../shop.schemas.js';

export const WalletView = z.object({
  balanceCents: z.number().int(),
  currency: z.string(),
});

export const LedgerEntryView = z.object({
  id: z.uuid(),
  amountCents: z.number().int(),
  kind: z.string(),
  reference: z.string(),
  createdAt: z.iso.datetime(),
});

export const LedgerPage = pageOf(LedgerEntryView);
