/**
 * Object-level authorization in the query itself (OWASP API1): a store that reads private rows
 * takes an `OwnerScope`, which only `ownerScope()` makes from a verified principal. A route thus
 * cannot pass a raw id or forget the owner: a row outside the scope is simply not found (404,
 * indistinguishable from a missing one).
 */
import type { Principal, Role } from './policy.js';

declare const scopeBrand: unique symbol;

export interface OwnerScope {
  /** The owner rows must have, or null when the principal may see everyone's. */
  readonly userId: string | null;
  readonly [scopeBrand]: true;
}

/**
 * The caller's own rows, or everyone's when the caller holds one of `everyoneFor`. `admin` counts
 * only for a session that passed MFA: an admin without it reads as a user does (ASVS V6.3.3).
 */
export function ownerScope(principal: Principal, everyoneFor: readonly Role[] = []): OwnerScope {
  const everyone = everyoneFor.some(
    (role) => principal.roles.includes(role) && (role !== 'admin' || principal.mfa),
  );
  return { userId: everyone ? null : principal.userId } as OwnerScope;
}

/** Only the caller's own rows, whatever roles they hold (e.g. `GET /orders` lists one's own). */
export function ownRows(principal: Principal): OwnerScope {
  return ownerScope(principal);
}
