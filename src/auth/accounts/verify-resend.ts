/**
 * `POST /auth/verify-email/resend` (issue 19): someone who lost the verification mail asks for
 * another. Enumeration-safe like forgot-password (issue 14, item 4): the request neither looks the
 * account up nor makes a token; it counts the address's mail cap and writes the same outbox row
 * for any address, known, unknown or already verified, and answers the same 202. The outbox
 * worker (composeAccountMail) mails a fresh link only to a live, unverified account; the new link
 * makes the older ones die.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Limiter } from '../../platform/rate-limit/limiters.js';
import { type AccountDeps, takeAddressMail } from './accounts.service.js';
import { normalizeEmail } from './email.js';
import { enqueueAccountMail } from './mail-outbox.js';

/**
 * Queues a verification resend; always silent. `cap` is the per-address budget of verification
 * mails, shared with registration (RATE_LIMIT_REGISTER_MAILS_PER_ADDRESS_HOUR): alternating
 * register and resend cannot flood a mailbox past it.
 */
export async function resendVerification(
  deps: Pick<AccountDeps, 'db' | 'clock'>,
  log: FastifyBaseLogger,
  rawEmail: string,
  cap: Limiter,
): Promise<void> {
  const email = normalizeEmail(rawEmail);
  if (!email) return;
  if (!(await takeAddressMail(cap, email.key, log, 'verify_resend'))) return;
  await enqueueAccountMail(deps.db, deps.clock, 'verification_resend', email.key, null);
}
