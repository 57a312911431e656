import { z } from 'zod';
import type { Identity } from './identities.store.js';

export const ProviderParams = z.strictObject({
  provider: z.string().regex(/^[a-z0-9]{1,40}$/),
});

export const StartQuery = z.object({
  returnTo: z.string().max(2000).optional(),
  link: z
    .string()
    .max(256)
    .optional()
    .meta({ description: 'A link grant from `POST /auth/identities/link`' }),
});

export const LinkBody = z.strictObject({
  provider: z.string().regex(/^[a-z0-9]{1,40}$/),
  returnTo: z.string().max(2000).optional(),
});

export const LinkAnswer = z.object({
  url: z.url().meta({
    description:
      "Navigate this browser (the one holding the session's refresh cookie) here within 2 minutes",
  }),
});

/** The provider's answer: every field optional, so a bad one is refused by our code, not zod. */
export const CallbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(200).optional(),
});

export const IdentityView = z.object({
  id: z.uuid(),
  provider: z.string(),
  subject: z.string(),
  email: z.string().nullable().meta({ description: 'As the provider last asserted it' }),
  createdAt: z.string(),
});

export const IdentityPage = z.object({
  items: z.array(IdentityView),
  nextCursor: z.uuid().nullable(),
});

export const IdentityListQuery = z.strictObject({
  cursor: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export const IdentityParams = z.strictObject({ id: z.uuid() });

export function toIdentityView(row: Identity): z.infer<typeof IdentityView> {
  return {
    id: row.id,
    provider: row.provider,
    subject: row.subject,
    email: row.email,
    createdAt: new Date(row.created_at).toISOString(),
  };
}
