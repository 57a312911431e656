/**
 * Who may read a user's full profile (email, roles, lock state) rather than the public view.
 */
import { hasRole, type Principal } from './policy.js';

/**
 * Self, or an admin whose session passed MFA: an admin without a second factor reads others as a
 * user does, as for every other admin power (ASVS V6.3.3).
 */
export function canSeeFullProfile(principal: Principal, targetId: string): boolean {
  if (principal.userId === targetId) return true;
  return hasRole(principal, 'admin') && principal.mfa;
}
