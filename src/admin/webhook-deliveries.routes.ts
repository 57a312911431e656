/**
 * `GET /admin/webhooks/deliveries` (issue 19): the lifecycle outbox as administrators see it,
 * newest first: each event's delivery state, attempts, last HTTP status and next attempt. Never the
 * event's `data` nor any response body.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../platform/db/database.js';

const DeliveryQuery = z.strictObject({
  cursor: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const DeliveryView = z.object({
  id: z.uuid().describe('The event id, the same on every attempt'),
  type: z.string(),
  at: z.iso.datetime(),
  userId: z.uuid(),
  state: z
    .enum(['pending', 'delivered', 'failing'])
    .describe('failing: the last attempt got an error status or no answer; it will be retried'),
  attempts: z.number().int(),
  lastStatus: z.number().int().nullable().describe("The receiver's last HTTP status"),
  lastError: z.string().nullable().describe('The last network error code (no answer)'),
  nextAttemptAt: z.iso.datetime().nullable(),
  deliveredAt: z.iso.datetime().nullable(),
});

const DeliveryPage = z.object({ items: z.array(DeliveryView), nextCursor: z.uuid().nullable() });

export function webhookDeliveryRoutes(db: Db) {
  return async (app: FastifyInstance) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/admin/webhooks/deliveries',
      {
        config: { access: { roles: ['admin'] } },
        schema: {
          tags: ['admin'],
          summary: 'Lifecycle webhook deliveries, newest first',
          security: [{ bearer: [] }],
          querystring: DeliveryQuery,
          response: { 200: DeliveryPage },
        },
      },
      async (request) => {
        const { cursor, limit } = request.query;
        // Ids are UUIDv7: ordering by id is ordering by time.
        let q = db
          .selectFrom('lifecycle_events')
          .select([
            'id',
            'type',
            'at',
            'user_id',
            'attempts',
            'last_status',
            'last_error',
            'next_attempt_at',
            'delivered_at',
          ])
          .orderBy('id', 'desc')
          .limit(limit + 1);
        if (cursor) q = q.where('id', '<', cursor);
        const rows = await q.execute();
        const page = rows.slice(0, limit);
        return {
          items: page.map((e) => ({
            id: e.id,
            type: e.type,
            at: e.at.toISOString(),
            userId: e.user_id,
            state: e.delivered_at
              ? ('delivered' as const)
              : e.last_status !== null || e.last_error !== null
                ? ('failing' as const)
                : ('pending' as const),
            attempts: e.attempts,
            lastStatus: e.last_status,
            lastError: e.last_error,
            nextAttemptAt: e.delivered_at ? null : e.next_attempt_at.toISOString(),
            deliveredAt: e.delivered_at?.toISOString() ?? null,
          })),
          nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
        };
      },
    );
  };
}
