/**
 * Transport rules: CORS from an exact allowlist, HTTPS enforcement behind a trusted proxy in
 * production. (The default `Cache-Control: no-store` is precomputed with the security headers.)
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { platformError } from './errors.js';

/**
 * Response headers a client on a CORS origin needs to read (issue 18): where a created resource
 * lives, when to retry (429, 503), the IETF rate-limit fields, and whether an order answer was an
 * idempotent replay.
 */
export const EXPOSED_HEADERS = [
  'Location',
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Idempotent-Replayed',
];

/** The health probes served over plain HTTP in production too. */
const PROBES = new Set(['/health/live', '/health/ready']);

export async function installHttpHardening(app: FastifyInstance, config: Config): Promise<void> {
  // JSON in: Fastify's default text/plain parser would hand routes a string (a 400 at best)
  // where a wrong content type must be 415. A scope that needs another type adds its parser.
  app.removeContentTypeParser('text/plain');

  if (config.corsOrigins.length > 0) {
    const allowed = new Set(config.corsOrigins.map((o) => new URL(o).origin));
    await app.register(cors, {
      // Exact origins only; never a wildcard, since credentials are allowed.
      origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
      credentials: true,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-csrf-token', 'idempotency-key'],
      // What a page on another origin may read of an answer besides the CORS-safelisted ones.
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });
  }

  if (config.nodeEnv === 'production' && !config.tls) {
    // Behind TRUST_PROXY the proxy tells us the scheme; a plain-HTTP request is never served.
    app.addHook('onRequest', async (request, reply) => {
      if (request.protocol === 'https') return;
      const read = request.method === 'GET' || request.method === 'HEAD';
      // Orchestrator probes (Docker HEALTHCHECK, Kubernetes, the proxy's health checks) dial the
      // instance over plain HTTP and must not be sent elsewhere; the answers carry nothing
      // personal. Only the exact paths, no query: anything else is redirected as before.
      if (read && PROBES.has(request.url)) return;
      if (read) {
        // Appended, not resolved: `new URL('//evil.example/', base)` takes the host from the path.
        const path = request.url.startsWith('/') ? request.url : '/';
        return reply.redirect(new URL(`${config.publicUrl}${path}`).toString(), 308);
      }
      throw platformError('https_required');
    });
  }
}
