/**
 * TOTP enrolment, second-factor checks (TOTP or recovery code), removal and recovery-code
 * regeneration. Secrets are sealed with a key derived from the master key; every change mails
 * the owner.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../platform/clock.js';
import { seal, unseal } from '../../platform/crypto.js';
import type { Db } from '../../platform/db/database.js';
import type { Mail, Mailer } from '../../platform/mail/mailer.js';
import type { Limiter } from '../../platform/rate-limit/limiters.js';
import { mfaError } from './mfa.errors.js';
import {
  acceptStep,
  activateTotp,
  disableMfa,
  readTotpState,
  remainingRecoveryCodes,
  replaceRecoveryCodes,
  setPendingSecret,
  useRecoveryCode,
} from './mfa.store.js';
import {
  hashRecoveryCode,
  newRecoveryCode,
  normalizeRecoveryCode,
  RECOVERY_CODE_COUNT,
} from './recovery-codes.js';
import { enrolment, matchingStep, newTotpSecret, type TotpEnrolment } from './totp.js';

export interface MfaDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly mailer: Mailer;
  readonly issuer: string;
  /** Seals TOTP secrets. */
  readonly totpKey: Buffer;
  /** Keys recovery-code hashes. */
  readonly recoveryKey: Buffer;
  /** Code checks per account, shared by every path that checks a code. */
  readonly codeLimiter: Limiter;
}

export interface SecondFactor {
  readonly method: 'totp' | 'recovery';
  /** Unused recovery codes left, when a recovery code was used. */
  readonly recoveryCodesRemaining?: number;
}

function mfaChangedMail(to: string, what: string): Mail {
  const text = `${what}\n\nIf this was not you, reset your password and contact your administrator.`;
  return { to, subject: 'Your sign-in security changed', text, html: `<p>${what}</p>` };
}

function notify(deps: MfaDeps, log: FastifyBaseLogger, to: string, what: string): void {
  deps.mailer.send(mfaChangedMail(to, what)).catch(() => {
    log.warn({ event: 'mail_failed' }, 'MFA change mail could not be sent');
  });
}

function newCodes(deps: MfaDeps): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  return { codes, hashes: codes.map((c) => hashRecoveryCode(deps.recoveryKey, c)) };
}

/** Starts enrolment: a new secret waits for its first code. */
export async function setupTotp(
  deps: MfaDeps,
  user: { id: string; email: string },
): Promise<TotpEnrolment> {
  const state = await readTotpState(deps.db, user.id);
  if (state?.mfa_enabled) throw mfaError('mfa_already_enabled');
  const secret = newTotpSecret();
  await setPendingSecret(deps.db, user.id, seal(deps.totpKey, secret, `totp:${user.id}`));
  return enrolment(secret, deps.issuer, user.email);
}

/** Turns MFA on when the code matches the pending secret; returns the recovery codes, once. */
export async function confirmTotp(
  deps: MfaDeps,
  log: FastifyBaseLogger,
  user: { id: string; email: string },
  code: string,
): Promise<string[]> {
  await deps.codeLimiter.consume(user.id);
  const state = await readTotpState(deps.db, user.id);
  if (state?.mfa_enabled) throw mfaError('mfa_already_enabled');
  if (!state?.totp_pending_sealed) throw mfaError('mfa_setup_required');
  const secret = unseal(deps.totpKey, state.totp_pending_sealed, `totp:${user.id}`);
  const step = matchingStep(secret, code, deps.clock.now());
  if (step === null || !(await acceptStep(deps.db, user.id, step)))
    throw mfaError('invalid_mfa_code');
  const { codes, hashes } = newCodes(deps);
  await activateTotp(deps.db, user.id, hashes, new Date(deps.clock.now()));
  notify(deps, log, user.email, 'Two-factor sign-in (TOTP) was turned on for your account.');
  return codes;
}

/**
 * Checks a second factor: a 6-digit TOTP code (each time step accepted once) or a recovery code
 * (each usable once). Throws `invalid_mfa_code` otherwise.
 */
export async function verifySecondFactor(
  deps: MfaDeps,
  userId: string,
  code: string,
): Promise<SecondFactor> {
  await deps.codeLimiter.consume(userId);
  const state = await readTotpState(deps.db, userId);
  if (!state?.mfa_enabled || !state.totp_secret_sealed) throw mfaError('invalid_mfa_code');
  const trimmed = code.trim();
  if (/^\d{6}$/.test(trimmed)) {
    const secret = unseal(deps.totpKey, state.totp_secret_sealed, `totp:${userId}`);
    const step = matchingStep(secret, trimmed, deps.clock.now());
    if (step !== null && (await acceptStep(deps.db, userId, step))) return { method: 'totp' };
    throw mfaError('invalid_mfa_code');
  }
  const recovery = normalizeRecoveryCode(trimmed);
  const now = new Date(deps.clock.now());
  if (
    recovery &&
    (await useRecoveryCode(deps.db, userId, hashRecoveryCode(deps.recoveryKey, recovery), now))
  ) {
    return {
      method: 'recovery',
      recoveryCodesRemaining: await remainingRecoveryCodes(deps.db, userId),
    };
  }
  throw mfaError('invalid_mfa_code');
}

export async function removeTotp(
  deps: MfaDeps,
  log: FastifyBaseLogger,
  user: { id: string; email: string },
  code: string,
): Promise<void> {
  const state = await readTotpState(deps.db, user.id);
  if (!state?.mfa_enabled) throw mfaError('mfa_not_enabled');
  await verifySecondFactor(deps, user.id, code);
  await disableMfa(deps.db, user.id, new Date(deps.clock.now()));
  notify(deps, log, user.email, 'Two-factor sign-in (TOTP) was turned off for your account.');
}

export async function regenerateRecoveryCodes(
  deps: MfaDeps,
  log: FastifyBaseLogger,
  user: { id: string; email: string },
  code: string,
): Promise<string[]> {
  const state = await readTotpState(deps.db, user.id);
  if (!state?.mfa_enabled) throw mfaError('mfa_not_enabled');
  await verifySecondFactor(deps, user.id, code);
  const { codes, hashes } = newCodes(deps);
  await replaceRecoveryCodes(deps.db, user.id, hashes, new Date(deps.clock.now()));
  notify(
    deps,
    log,
    user.email,
    'New recovery codes were made for your account; the old ones no longer work.',
  );
  return codes;
}
