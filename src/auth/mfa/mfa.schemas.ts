import { z } from 'zod';

export const CodeBody = z.strictObject({ code: z.string().min(6).max(32) });
export const LoginMfaBody = z.strictObject({
  mfaToken: z.string().min(20).max(4096),
  code: z.string().min(6).max(32),
});
export const Enrolment = z.object({
  secret: z.string(),
  otpauthUrl: z.string(),
  qrSvg: z.string(),
});
export const RecoveryCodes = z.object({ recoveryCodes: z.array(z.string()) });
