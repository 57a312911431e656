import { z } from 'zod';
import type { User } from '../../platform/db/schema.js';
import { PasswordField } from '../passwords/password-field.js';
import { effectiveRoles } from '../sessions/sessions.service.js';

// Over 256 code points is 400 `weak_password` `too_long` at validation, before any work
// (password-field.ts); the policy decides the rest.
const password = PasswordField;
const email = z.string().min(3).max(320);
const token = z.string().min(16).max(128);

export const RegisterBody = z.strictObject({
  email,
  password,
  displayName: z.string().min(1).max(200),
});
export const LoginBody = z.strictObject({ email, password });
export const VerifyEmailBody = z.strictObject({ token, password });
/** A mailed one-time token alone ("this was not me"). */
export const TokenBody = z.strictObject({ token });
export const ForgotBody = z.strictObject({ email });
export const ResetBody = z.strictObject({ token, newPassword: password });
export const ChangePasswordBody = z.strictObject({
  currentPassword: password,
  newPassword: password,
  /** TOTP or recovery code: required when the account has MFA on (401 `mfa_required`). */
  code: z
    .string()
    .min(6)
    .max(32)
    .optional()
    .meta({
      description:
        'TOTP or recovery code, required when the account has MFA on: missing, 401 ' +
        '`mfa_required`; wrong, 401 `invalid_mfa_code` (counted in the MFA code budget).',
    }),
});

export const Accepted = z.object({ status: z.literal('verification_sent') });

export const UserSelfView = z.object({
  id: z.uuid(),
  email: z.string(),
  displayName: z.string(),
  roles: z.array(z.string()),
  emailVerified: z.boolean(),
  mfaEnabled: z.boolean(),
  locked: z.boolean(),
  createdAt: z.iso.datetime(),
  avatarUrl: z.string().nullable(),
});
export type UserSelfView = z.infer<typeof UserSelfView>;

export const UserEnvelope = z.object({ user: UserSelfView });

export const LoginResponse = z.object({
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int(),
  csrfToken: z.string(),
  user: UserSelfView,
  /** Present when a recovery code was used to log in. */
  recoveryCodesRemaining: z.number().int().optional(),
});

/** The columns the self view is made of (an export reads these and no secret column). */
export type SelfViewColumns = Pick<
  User,
  | 'id'
  | 'email'
  | 'display_name'
  | 'roles'
  | 'email_verified_at'
  | 'mfa_enabled'
  | 'locked'
  | 'created_at'
  | 'avatar_url'
>;

export function toSelfView(user: SelfViewColumns): UserSelfView {
  return {
    id: user.id,
    email: user.email,
    displayName: user.display_name,
    roles: effectiveRoles(user.roles),
    emailVerified: user.email_verified_at !== null,
    mfaEnabled: user.mfa_enabled,
    locked: user.locked,
    createdAt: user.created_at.toISOString(),
    avatarUrl: user.avatar_url,
  };
}
