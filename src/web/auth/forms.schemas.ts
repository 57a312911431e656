/**
 * The hosted forms' bodies: the API's own body schemas (same limits, same `weak_password` for a
 * too-long password) plus the synchronizer token and, on sign-in, where to land.
 */
import { z } from 'zod';
import {
  ForgotBody,
  LoginBody,
  RegisterBody,
  ResetBody,
  TokenBody,
  VerifyEmailBody,
} from '../../auth/accounts/accounts.schemas.js';
import { LoginMfaBody } from '../../auth/mfa/mfa.schemas.js';

const csrf = { _csrf: z.string().max(200) };
const returnTo = { returnTo: z.string().max(2048).optional() };

export const LoginForm = LoginBody.extend({ ...csrf, ...returnTo });
export const LoginMfaForm = LoginMfaBody.extend({ ...csrf, ...returnTo });
export const RegisterForm = RegisterBody.extend(csrf);
export const VerifyEmailForm = VerifyEmailBody.extend(csrf);
export const ForgotForm = ForgotBody.extend(csrf);
export const ResetForm = ResetBody.extend(csrf);
export const TokenForm = TokenBody.extend(csrf);
export const CsrfOnlyForm = z.strictObject(csrf);

/** `error`: a social login's refusal code (auth/oauth), shown only when it is one of those. */
export const LoginQuery = z.object({
  ...returnTo,
  error: z.string().max(64).optional(),
  /** `1`: a social login stopped at the second factor (its token is in the fragment). */
  mfa: z.literal('1').optional(),
  /** `account_deleted`: the account page's deletion ended here (issue 15). */
  notice: z.literal('account_deleted').optional(),
});
/** A mailed link's token; checked by the service when the form is sent, not on display. */
export const TokenQuery = z.object({ token: z.string().max(256).optional() });
