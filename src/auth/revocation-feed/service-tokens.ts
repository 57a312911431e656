/**
 * `SERVICE_TOKENS`: the credentials of relying services. A presented bearer is hashed and the
 * digest compared with every configured token's digest by `timingSafeEqual`, always all of them:
 * equal-length digests leave nothing to leak through a length check or an early exit, so neither
 * a token's length nor which one matched shows in the time taken.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError, platformErrors } from '../../platform/errors.js';

const BEARER = /^Bearer (\S+)$/i;

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export function serviceUnauthorized(): AppError {
  const spec = platformErrors.unauthorized;
  return new AppError(
    'unauthorized',
    spec.status,
    spec.title,
    {},
    { 'www-authenticate': 'Bearer' },
  );
}

/**
 * Returns which configured token (its index) the request's bearer is, or throws 401. With no
 * token configured every request is refused alike (401), so the route does not reveal whether
 * the feed is switched on.
 */
export function serviceTokenCheck(tokens: readonly string[]) {
  const digests = tokens.map(digest);
  // Compared against when nothing is configured, so the refusal costs the same work.
  const decoy = digest('bastion:no-service-token');
  return (request: FastifyRequest): number => {
    const header = request.headers.authorization;
    const presented = digest((header ? BEARER.exec(header)?.[1] : undefined) ?? '');
    let match = -1;
    for (let i = 0; i < digests.length; i++) {
      // No early exit: every configured token is compared.
      if (timingSafeEqual(presented, digests[i] as Buffer) && match < 0) match = i;
    }
    if (digests.length === 0) timingSafeEqual(presented, decoy);
    if (match < 0 || !header) throw serviceUnauthorized();
    return match;
  };
}
