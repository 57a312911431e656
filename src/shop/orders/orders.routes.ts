/** Orders: idempotent, race-safe creation and the caller's own orders (DESIGN.md, Shop). */
import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ownerScope, ownRows } from '../../access/ownership.js';
import { principalOf } from '../../access/policy.js';
import { requireVerifiedEmail } from '../../access/verified-email.js';
import { platformError } from '../../platform/errors.js';
import type { ShopDeps } from '../shop.deps.js';
import { IdParams, PageQuery, toPage } from '../shop.schemas.js';
import { orderError } from './orders.errors.js';
import { IDEMPOTENCY_KEY, OrderBody, OrderList, OrderView } from './orders.schemas.js';
import { createOrder } from './orders.service.js';
import { findOrder, listOrders } from './orders.store.js';

const tags = ['shop'];

function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && IDEMPOTENCY_KEY.test(header) ? header : undefined;
}

/** 400 `idempotency_key_required` unless one well-formed Idempotency-Key header is present. */
const requireIdempotencyKey: preHandlerHookHandler = async (request) => {
  if (!idempotencyKeyOf(request.headers['idempotency-key'])) {
    throw orderError('idempotency_key_required');
  }
};

export function orderRoutes(deps: ShopDeps) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/orders',
      {
        config: { access: 'authenticated' },
        preHandler: [requireVerifiedEmail(deps.db), requireIdempotencyKey],
        schema: { tags, body: OrderBody, response: { 201: OrderView } },
      },
      async (request, reply) => {
        const key = idempotencyKeyOf(request.headers['idempotency-key']) ?? '';
        const { userId } = principalOf(request);
        const result = await createOrder(deps, request.log, userId, key, request.body);
        if (result.replayed) reply.header('idempotent-replayed', 'true');
        return reply
          .code(201)
          .header('cache-control', 'no-store')
          .header('location', `/orders/${result.order.id}`)
          .send(result.order);
      },
    );

    r.get(
      '/orders',
      {
        config: { access: 'authenticated' },
        schema: { tags, querystring: PageQuery, response: { 200: OrderList } },
      },
      async (request, reply) => {
        const { limit, cursor } = request.query;
        const rows = await listOrders(deps.db, ownRows(principalOf(request)), limit + 1, cursor);
        reply.header('cache-control', 'no-store');
        return toPage(rows, limit, (o) => o);
      },
    );

    r.get(
      '/orders/:id',
      {
        config: { access: 'authenticated' },
        schema: { tags, params: IdParams, response: { 200: OrderView } },
      },
      async (request, reply) => {
        // Admins (with MFA) read any order; someone else's is answered exactly as a missing one.
        const scope = ownerScope(principalOf(request), ['admin']);
        const order = await findOrder(deps.db, request.params.id, scope);
        if (!order) throw platformError('not_found');
        reply.header('cache-control', 'no-store');
        return order;
      },
    );
  };
}
