import { z } from 'zod';

export const TokenResponse = z.object({
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int(),
  csrfToken: z.string(),
});

export const SessionView = z.object({
  id: z.uuid(),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  current: z.boolean(),
});

export const SessionList = z.object({
  items: z.array(SessionView),
  nextCursor: z.string().nullable(),
});

export const ListQuery = z.strictObject({
  cursor: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export const SessionParams = z.strictObject({ id: z.uuid() });
