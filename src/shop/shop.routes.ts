/** The shop API (issue 7): catalog, wallet, orders, posts, payment webhooks. */
import type { FastifyInstance } from 'fastify';
import { catalogRoutes } from './catalog/catalog.routes.js';
import { orderRoutes } from './orders/orders.routes.js';
import type { ShopDeps } from './shop.deps.js';
import { walletRoutes } from './wallet/wallet.routes.js';
import { webhookRoutes } from './webhooks/webhooks.routes.js';

export function shopRoutes(deps: ShopDeps) {
  return async (app: FastifyInstance) => {
    await app.register(catalogRoutes(deps));
    await app.register(walletRoutes(deps));
    await app.register(orderRoutes(deps));
    // Encapsulated: its raw-body JSON parser applies to the webhook route only.
    await app.register(webhookRoutes(deps));
  };
}
