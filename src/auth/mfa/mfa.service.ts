/**
 * TOTP enrolment, second-factor checks (TOTP or recovery code), removal and recovery-code
 * regeneration. Secrets are sealed with a key derived from the master key; every change mails
 * the owner.
 */
import type { FastifyBaseLogger } from 'fastify';
import { type AccountChange, appendAccountChange } from '../../platform/audit/account-audit.js';
import type { AuditChain } from '../../platform/audit/audit.store.js';
import type { Clock } from '../../platform/clock.js';
import { seal, unseal } from '../../platform/crypto.js';
import type { Db } from '../../platform/db/database.js';
import { AppError } from '../../platform/errors.js';
import { emitLifecycle } from '../../platform/lifecycle/lifecycle.js';
import type { Mailer } from '../../platform/mail/mailer.js';
import type { Limiter } from '../../platform/rate-limit/limiters.js';
import { mfaChangedMail } from '../accounts/mails.js';
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
  readonly audit: AuditChain;
  readonly issuer: string;
  /** Seals TOTP secrets. */
  readonly totpKey: Buffer;
  /** Keys recovery-code hashes. */
  readonly recoveryKey: Buffer;
  /**
   * Wrong codes per account, shared by every path that checks a code: each check is counted when
   * admitted (so a concurrent burst cannot exceed the budget) and a right code gives it back.
   */
  readonly codeLimiter: Limiter;
  /** A fresh one-time "this was not me" link for the account (accounts.service). */
  readonly secureAccountUrl: (userId: string) => Promise<string>;
}

/** Who asked for an MFA change, for its audit entry. */
export interface MfaActor {
  readonly id: string;
  readonly email: string;
  readonly ip: string | null;
}

export interface SecondFactor {
  readonly method: 'totp' | 'recovery';
  /** Unused recovery codes left, when a recovery code was used. */
  readonly recoveryCodesRemaining?: number;
}

/** Mails the owner about an MFA change, with a "this was not me" link, off the request path. */
function notify(
  deps: MfaDeps,
  log: FastifyBaseLogger,
  user: { id: string; email: string },
  what: string,
): void {
  deps
    .secureAccountUrl(user.id)
    .then((url) => deps.mailer.send(mfaChangedMail(user.email, what, url)))
    .catch(() => {
      log.warn({ event: 'mail_failed' }, 'MFA change mail could not be sent');
    });
}

/**
 * Runs one code check against the account's budget of wrong codes: counted at admission, so a
 * burst of concurrent guesses cannot pass the limit, and given back when the code was right, so
 * an owner who logs in often is never locked out (issue 8), or when the check failed on our side
 * (the database, say): an outage must not lock owners out. A wrong code is refused with an
 * AppError; a failure answers 500 and says nothing of the code, so it buys no free guess.
 */
async function budgetedCheck<T>(deps: MfaDeps, userId: string, check: () => Promise<T>) {
  await deps.codeLimiter.consume(userId);
  let result: T;
  try {
    result = await check();
  } catch (err) {
    if (!(err instanceof AppError)) await deps.codeLimiter.refund(userId).catch(() => undefined);
    throw err;
  }
  await deps.codeLimiter.refund(userId);
  return result;
}

/** Runs `change` and appends its audit entry in one transaction: neither lands without the other. */
async function auditedChange(
  deps: MfaDeps,
  actor: MfaActor,
  action: AccountChange['action'],
  change: (trx: Db, now: Date) => Promise<void>,
): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const now = new Date(deps.clock.now());
    await change(trx, now);
    await appendAccountChange(deps.audit, trx, now, { userId: actor.id, action, ip: actor.ip });
    const data = { change: action.replace(/^account\./, '') };
    await emitLifecycle(trx, { type: 'user.mfa_changed', userId: actor.id, data });
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
  user: MfaActor,
  code: string,
): Promise<string[]> {
  const state = await readTotpState(deps.db, user.id);
  if (state?.mfa_enabled) throw mfaError('mfa_already_enabled');
  const pending = state?.totp_pending_sealed;
  if (!pending) throw mfaError('mfa_setup_required');
  await budgetedCheck(deps, user.id, async () => {
    const secret = unseal(deps.totpKey, pending, `totp:${user.id}`);
    const step = matchingStep(secret, code, deps.clock.now());
    if (step === null || !(await acceptStep(deps.db, user.id, step)))
      throw mfaError('invalid_mfa_code');
  });
  const { codes, hashes } = newCodes(deps);
  // Only the secret the code was checked against: a setup that raced this confirm replaced it.
  await auditedChange(deps, user, 'account.mfa_enabled', async (trx, now) => {
    if (!(await activateTotp(trx, user.id, pending, hashes, now)))
      throw mfaError('mfa_setup_required');
  });
  notify(deps, log, user, 'Two-factor sign-in (TOTP) was turned on for your account.');
  return codes;
}

/**
 * Checks a second factor: a 6-digit TOTP code (each time step accepted once) or a recovery code
 * (each usable once; using one is audited in the same transaction). Throws `invalid_mfa_code`
 * otherwise.
 */
export async function verifySecondFactor(
  deps: MfaDeps,
  user: Pick<MfaActor, 'id' | 'ip'>,
  code: string,
): Promise<SecondFactor> {
  return budgetedCheck(deps, user.id, () => checkSecondFactor(deps, user, code));
}

async function checkSecondFactor(
  deps: MfaDeps,
  user: Pick<MfaActor, 'id' | 'ip'>,
  code: string,
): Promise<SecondFactor> {
  const userId = user.id;
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
  if (!recovery) throw mfaError('invalid_mfa_code');
  const hash = hashRecoveryCode(deps.recoveryKey, recovery);
  const remaining = await deps.db.transaction().execute(async (trx) => {
    const now = new Date(deps.clock.now());
    if (!(await useRecoveryCode(trx, userId, hash, now))) return undefined;
    const left = await remainingRecoveryCodes(trx, userId);
    await appendAccountChange(deps.audit, trx, now, {
      userId,
      action: 'account.recovery_code_used',
      ip: user.ip,
      detail: { remaining: left },
    });
    return left;
  });
  if (remaining === undefined) throw mfaError('invalid_mfa_code');
  return { method: 'recovery', recoveryCodesRemaining: remaining };
}

export async function removeTotp(
  deps: MfaDeps,
  log: FastifyBaseLogger,
  user: MfaActor,
  code: string,
): Promise<void> {
  const state = await readTotpState(deps.db, user.id);
  if (!state?.mfa_enabled) throw mfaError('mfa_not_enabled');
  await verifySecondFactor(deps, user, code);
  await auditedChange(deps, user, 'account.mfa_disabled', (trx, now) =>
    disableMfa(trx, user.id, now),
  );
  notify(deps, log, user, 'Two-factor sign-in (TOTP) was turned off for your account.');
}

export async function regenerateRecoveryCodes(
  deps: MfaDeps,
  log: FastifyBaseLogger,
  user: MfaActor,
  code: string,
): Promise<string[]> {
  const state = await readTotpState(deps.db, user.id);
  if (!state?.mfa_enabled) throw mfaError('mfa_not_enabled');
  await verifySecondFactor(deps, user, code);
  const { codes, hashes } = newCodes(deps);
  await auditedChange(deps, user, 'account.recovery_codes_regenerated', (trx, now) =>
    replaceRecoveryCodes(trx, user.id, hashes, now),
  );
  notify(
    deps,
    log,
    user,
    'New recovery codes were made for your account; the old ones no longer work.',
  );
  return codes;
}
