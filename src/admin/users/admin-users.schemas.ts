import { z } from 'zod';
import { ROLES } from '../../access/policy.js';
import { UserSelfView } from '../../auth/accounts/accounts.schemas.js';

export const UserParams = z.strictObject({ id: z.uuid() });

export const UserSearchQuery = z.strictObject({
  /** Matches anywhere in the email or the display name, case-insensitively. */
  query: z.string().max(200).optional(),
  cursor: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/** An account as an admin sees it in the list: the self view and its linked sign-in providers. */
export const AdminUserView = UserSelfView.extend({
  identities: z.array(
    z.object({
      provider: z.string(),
      email: z.string().nullable().meta({ description: 'As the provider last asserted it' }),
      createdAt: z.string(),
      lastLoginAt: z.string(),
    }),
  ),
});

export const UserPage = z.object({
  items: z.array(AdminUserView),
  nextCursor: z.uuid().nullable(),
});

/** `user` is implicit: listing it is allowed and changes nothing. */
export const AdminUserPatch = z
  .strictObject({
    roles: z.array(z.enum(ROLES)).max(ROLES.length).optional(),
    locked: z.boolean().optional(),
  })
  .refine((b) => b.roles !== undefined || b.locked !== undefined, {
    message: 'give roles, locked or both',
  });
export type AdminUserPatch = z.infer<typeof AdminUserPatch>;
