/**
 * `GET /metrics`: Prometheus text for scrapers holding METRICS_TOKEN. The route is public to the
 * access policy (a scraper has no user token) and the handler demands the metrics bearer,
 * compared in constant time. Without a configured token the route answers 404, as if absent.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { safeEqual } from './crypto.js';
import { AppError, platformError, platformErrors } from './errors.js';

const BEARER = /^Bearer (\S+)$/i;

function unauthorized(): AppError {
  const spec = platformErrors.unauthorized;
  return new AppError(
    'unauthorized',
    spec.status,
    spec.title,
    {},
    { 'www-authenticate': 'Bearer' },
  );
}

function presentedToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  return (header ? BEARER.exec(header)?.[1] : undefined) ?? '';
}

export function metricsRoutes(token: string | undefined, registry: Registry) {
  return async (app: FastifyInstance) => {
    app.get(
      '/metrics',
      {
        config: { access: 'public', exemptFromRateLimit: false },
        // An operator's endpoint, not part of the published API.
        schema: { hide: true },
      },
      async (request, reply) => {
        if (!token) throw platformError('not_found');
        // safeEqual also spends the comparison when lengths differ (or nothing was presented).
        if (!safeEqual(presentedToken(request), token)) throw unauthorized();
        const text = await registry.metrics();
        return reply.type(registry.contentType).header('cache-control', 'no-store').send(text);
      },
    );
  };
}
