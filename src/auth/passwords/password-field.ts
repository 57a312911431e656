/**
 * The schema piece for every password a route accepts (register, login, reset, change, verify):
 * one place decides what "too long" means. A password over the maximum (256 code points after
 * NFKC) is 400 `weak_password` with `rule: "too_long"`, whatever its length (1 KiB or 200 KB
 * alike), refused at validation: before any hashing, database or throttle work, never truncated.
 * Only the 1 MiB body limit (413) comes first.
 */
import { z } from 'zod';
import { accountErrors } from '../accounts/accounts.errors.js';
import { isTooLongPassword, MAX_PASSWORD_CODE_POINTS, TOO_LONG_SUGGESTION } from './policy.js';

/** What the error handler answers for this field's length check (see platform/errors.ts). */
const tooLongProblem = {
  code: 'weak_password',
  status: accountErrors.weak_password.status,
  title: accountErrors.weak_password.title,
  extra: { rule: 'too_long', suggestions: [TOO_LONG_SUGGESTION] },
} as const;

export const PasswordField = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    if (isTooLongPassword(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `at most ${MAX_PASSWORD_CODE_POINTS} characters`,
        params: { problem: tooLongProblem },
      });
    }
  })
  .meta({
    description: `At most ${MAX_PASSWORD_CODE_POINTS} code points (after NFKC); longer is 400 \`weak_password\` with \`rule: "too_long"\`.`,
  });
