/** Bodies and answers of the self-service routes under `/users/me` (issue 19). */
import { z } from 'zod';
import { UserSelfView } from '../auth/accounts/accounts.schemas.js';

/** As at register: 1 to 200 characters here, then 1 to 100 visible ones once normalized. */
export const ProfilePatch = z.strictObject({ displayName: z.string().min(1).max(200) });

const when = z.iso.datetime();
const detail = z.record(z.string(), z.unknown());

/**
 * The export: everything stored about the caller. Every object is strict, so this schema is the
 * response filter too: a column added to a row later cannot leak through it. Never a password
 * hash, TOTP secret, recovery-code hash, token or token hash, nor another user's data.
 */
export const AccountExport = z.strictObject({
  exportedAt: when,
  user: UserSelfView,
  sessions: z.array(
    z.strictObject({
      id: z.string(),
      createdAt: when,
      lastUsedAt: when,
      authTime: when,
      expiresAt: when,
      revokedAt: when.nullable(),
      ip: z.string().nullable(),
      userAgent: z.string().nullable(),
      mfa: z.boolean(),
      current: z.boolean(),
    }),
  ),
  identities: z.array(
    z.strictObject({
      id: z.string(),
      provider: z.string(),
      issuer: z.string(),
      subject: z.string(),
      email: z.string().nullable(),
      createdAt: when,
      lastLoginAt: when,
    }),
  ),
  wallet: z.strictObject({ balanceCents: z.number().int(), currency: z.string() }).nullable(),
  orders: z.array(
    z.strictObject({
      id: z.string(),
      items: z.array(
        z.strictObject({
          productId: z.string(),
          quantity: z.number().int(),
          unitPriceCents: z.number().int(),
        }),
      ),
      totalCents: z.number().int(),
      currency: z.string(),
      instructions: z.string().nullable(),
      status: z.string(),
      createdAt: when,
    }),
  ),
  ledger: z.array(
    z.strictObject({
      id: z.string(),
      amountCents: z.number().int(),
      currency: z.string(),
      kind: z.string(),
      reference: z.string(),
      createdAt: when,
    }),
  ),
  posts: z.array(
    z.strictObject({
      id: z.string(),
      title: z.string(),
      content: z.string(),
      createdAt: when,
      updatedAt: when,
    }),
  ),
  comments: z.array(
    z.strictObject({ id: z.string(), postId: z.string(), content: z.string(), createdAt: when }),
  ),
  auditEntries: z.array(
    z.strictObject({
      id: z.string(),
      at: when,
      action: z.string(),
      /** True when the caller acted; false when someone else (an administrator) did. */
      bySelf: z.boolean(),
      targetType: z.string(),
      targetId: z.string().nullable(),
      /** The caller's own address only; another actor's is never shown. */
      ip: z.string().nullable(),
      detail,
    }),
  ),
  securityEvents: z.array(
    z.strictObject({
      id: z.string(),
      type: z.string(),
      createdAt: when,
      ip: z.string().nullable(),
      detail,
    }),
  ),
});
export type AccountExport = z.infer<typeof AccountExport>;
