/** Liveness and readiness probes. Readiness asks the database and, when configured, Redis. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type Db, pingDatabase } from './db/database.js';
import type { SharedState } from './state/shared-state.js';

const Status = z.object({ status: z.enum(['ok', 'unavailable']) });
const PROBE_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('probe timed out')), PROBE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function healthRoutes(db: Db, state: SharedState) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get(
      '/health/live',
      {
        config: { access: 'public', exemptFromRateLimit: true },
        schema: { tags: ['service'], response: { 200: Status } },
      },
      async () => ({ status: 'ok' as const }),
    );
    r.get(
      '/health/ready',
      {
        config: { access: 'public', exemptFromRateLimit: true },
        schema: { tags: ['service'], response: { 200: Status, 503: Status } },
      },
      async (request, reply) => {
        try {
          await withTimeout(Promise.all([pingDatabase(db), state.ping()]));
          return { status: 'ok' as const };
        } catch (err) {
          request.log.warn({ err }, 'readiness probe failed');
          return reply.code(503).send({ status: 'unavailable' as const });
        }
      },
    );
  };
}
