/** `GET /admin/security-events`: lockouts, refresh-token reuse, 401 bursts, alerts (newest first). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../platform/db/database.js';

export const EventQuery = z.strictObject({
  type: z
    .string()
    .regex(/^[a-z_]{1,64}$/)
    .optional(),
  cursor: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const EventView = z.object({
  id: z.uuid(),
  type: z.string(),
  userId: z.uuid().nullable(),
  ip: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime(),
});

const EventPage = z.object({ items: z.array(EventView), nextCursor: z.uuid().nullable() });

/** A page of security events, newest first (the API route and the `/admin` pages read this). */
export async function readSecurityEvents(
  db: Db,
  { type, cursor, limit }: { type?: string; cursor?: string; limit: number },
) {
  // Ids are UUIDv7: ordering by id is ordering by time.
  let q = db
    .selectFrom('security_events')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (type) q = q.where('type', '=', type);
  if (cursor) q = q.where('id', '<', cursor);
  const rows = await q.execute();
  const page = rows.slice(0, limit);
  return {
    items: page.map((e) => ({
      id: e.id,
      type: e.type,
      userId: e.user_id,
      ip: e.ip,
      detail: e.detail,
      createdAt: e.created_at.toISOString(),
    })),
    nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
  };
}

export function securityEventRoutes(db: Db) {
  return async (app: FastifyInstance) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/admin/security-events',
      {
        config: { access: { roles: ['admin'] } },
        schema: {
          tags: ['admin'],
          security: [{ bearer: [] }],
          querystring: EventQuery,
          response: { 200: EventPage },
        },
      },
      async (request) => readSecurityEvents(db, request.query),
    );
  };
}
