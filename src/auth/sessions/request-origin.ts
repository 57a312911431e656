/**
 * Defence in depth for the cookie-authenticated calls (refresh, logout by cookie; ASVS V3.5):
 * besides the CSRF token, a browser request must come from our own origin or a configured CORS
 * origin. A browser always sends `Origin` on a cross-origin POST and `Sec-Fetch-Site` on every
 * request; a client that sends neither (a server, a mobile app) is not a browser that a
 * third-party page can drive, and still needs the CSRF token. Bearer calls are not ambient
 * credentials and need no such check.
 */
import type { FastifyRequest } from 'fastify';
import { sessionError } from './sessions.errors.js';

export type OriginCheck = (request: FastifyRequest) => void;

export function ownOriginCheck(publicUrl: string, corsOrigins: readonly string[]): OriginCheck {
  const allowed = new Set([new URL(publicUrl).origin, ...corsOrigins]);
  return (request) => {
    const origin = request.headers.origin;
    if (origin !== undefined) {
      // `Origin: null` (sandboxed frames, some redirects) is never one of ours.
      if (!allowed.has(origin)) throw sessionError('csrf_failed');
    } else if (request.headers['sec-fetch-site'] === 'cross-site') {
      throw sessionError('csrf_failed');
    }
  };
}
