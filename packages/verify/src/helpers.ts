/** Access helpers for a route that already has a principal. */
import { VerifyError } from './errors.js';
import type { Principal } from './verifier.js';

/** Throws 403 `forbidden` unless the principal holds the role. */
export function requireRole(principal: Principal, role: string): void {
  if (!principal.roles.includes(role)) throw new VerifyError('forbidden', `role ${role} required`);
}

/**
 * Returns the resource when the principal owns it, and throws 404 `not_found` otherwise, also
 * when it does not exist: another user's object answers exactly like a missing one, so ids cannot
 * be probed. Pass the owner's user id (or `undefined` for a missing object); with `resource`,
 * that object is returned typed.
 */
export function ownedOr404<T = undefined>(
  principal: Principal,
  resourceOwnerId: string | null | undefined,
  resource?: T,
): T {
  if (resourceOwnerId == null || resourceOwnerId !== principal.userId) {
    throw new VerifyError('not_found');
  }
  return resource as T;
}
