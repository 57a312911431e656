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
  return async (request) => {
    const header = request.headers.authorization;
    // A token in the verified cache matched BEARER when it was verified: skip the regex for it.
    const exact = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    const token =
      exact !== undefined && tokens.isVerified(exact)
        ? exact
        : header
          ? BEARER.exec(header)?.[1]
          : undefined;
    if (!token) throw unauthorized();
    try {
      return await tokens.verify(token);
    } catch (err) {
      if (err instanceof InvalidAccessToken) throw unauthorized();
      throw err;
    }
  };
}
