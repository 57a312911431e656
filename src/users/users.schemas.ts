import { z } from 'zod';
import { UserSelfView } from '../auth/accounts/accounts.schemas.js';
import type { User } from '../platform/db/schema.js';

export const UserIdParams = z.strictObject({ id: z.uuid() });

/** What anyone signed in may see of another account. */
export const UserPublicView = z.strictObject({
  id: z.uuid(),
  displayName: z.string(),
  avatarUrl: z.string().nullable(),
});
export type UserPublicView = z.infer<typeof UserPublicView>;

/** The self/admin view first: a response is checked against the view the policy chose. */
export const UserView = z.union([UserSelfView, UserPublicView]);

export function toPublicView(user: User): UserPublicView {
  return { id: user.id, displayName: user.display_name, avatarUrl: user.avatar_url };
}
