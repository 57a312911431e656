/** The authenticator behind every non-public route: `Authorization: Bearer <jwt>` only. */
import type { Authenticator } from '../../access/policy.js';
import { AppError, platformErrors } from '../../platform/errors.js';
import { type AccessTokens, InvalidAccessToken } from './access-tokens.js';

const BEARER = /^Bearer ([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+)$/i;

function unauthorized(): AppError {
  const spec = platformErrors.unauthorized;
  return new AppError(
    'unauthorized',
    spec.status,
    spec.title,
    {},
    {
      'www-authenticate': 'Bearer',
    },
  );
}

export function bearerAuthenticator(tokens: AccessTokens): Authenticator {
  const refuse = (err: unknown): never => {
    if (err instanceof InvalidAccessToken) throw unauthorized();
    throw err;
  };
  return (request) => {
    const header = request.headers.authorization;
    // The common case, synchronously: a token already in the verified cache (it matched BEARER
    // when it was verified, so the regex is skipped too).
    if (header?.startsWith('Bearer ')) {
      let cached: ReturnType<typeof tokens.verifyCached>;
      try {
        cached = tokens.verifyCached(header.slice(7));
      } catch (err) {
        return refuse(err);
      }
      if (cached) return cached;
    }
    const token = header ? BEARER.exec(header)?.[1] : undefined;
    if (!token) throw unauthorized();
    return tokens.verify(token).catch(refuse);
  };
}
