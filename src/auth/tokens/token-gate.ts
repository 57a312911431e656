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
    const match = header ? BEARER.exec(header) : null;
    if (!match?.[1]) throw unauthorized();
    try {
      return await tokens.verify(match[1]);
    } catch (err) {
      if (err instanceof InvalidAccessToken) throw unauthorized();
      throw err;
    }
  };
}
