/**
 * Password change for an authenticated user (POST /auth/password/change).
 */
import type { FastifyBaseLogger } from 'fastify';
import { platformError } from '../../platform/errors.js';
import { normalizePassword } from '../passwords/policy.js';
import { wrongCurrentPassword } from './accounts.errors.js';
import { type AccountDeps, enforcePolicy, sendNotice } from './accounts.service.js';
import { findUserById, setPasswordHash } from './accounts.store.js';
import { passwordChangedMail } from './mails.js';

/** Changes the password of an authenticated user after checking the current one. */
export async function changePassword(
  deps: AccountDeps,
  log: FastifyBaseLogger,
  userId: string,
  input: { currentPassword: string; newPassword: string },
): Promise<void> {
  const user = await findUserById(deps.db, userId);
  if (!user) throw platformError('unauthorized');
  const check = await deps.hasher.verify(
    user.password_hash,
    normalizePassword(input.currentPassword),
  );
  if (!check.valid) throw wrongCurrentPassword();
  const password = normalizePassword(input.newPassword);
  enforcePolicy(deps, password, user.email, user.display_name);
  await setPasswordHash(
    deps.db,
    user.id,
    await deps.hasher.hash(password),
    new Date(deps.clock.now()),
  );
  sendNotice(deps, log, user, (secureUrl) => passwordChangedMail(user.email, secureUrl));
}
