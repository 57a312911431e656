/** Bodies of the administrator support tools and of the invitation accept (issue 19). */
import { z } from 'zod';
import { ROLES } from '../../access/policy.js';
import { PasswordField } from '../../auth/passwords/password-field.js';

export const InviteBody = z.strictObject({
  email: z.string().min(3).max(320),
  /** Extra roles of the new account; `user` is implicit. */
  roles: z.array(z.enum(ROLES)).max(ROLES.length).optional(),
});
export type InviteBody = z.infer<typeof InviteBody>;

/** The mailed token is the credential; the account it names is the only one it can touch. */
export const AcceptInvitationBody = z.strictObject({
  token: z.string().min(16).max(128),
  password: PasswordField,
});

export const ResetMfaBody = z.strictObject({
  /** Kept in the audit entry (never sent to webhooks or to the user). */
  reason: z.string().trim().min(1).max(500),
});

export const ResendAccepted = z.object({
  status: z.literal('accepted'),
});
