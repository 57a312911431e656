/** The shop API (issue 7): catalog, wallet, orders, posts, payment webhooks. */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { AuditChain } from '../platform/audit/audit.store.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { DecodeQueue } from '../platform/media/decode-queue.js';
import type { MediaStore } from '../platform/media/media.store.js';
import type { RateLimits } from '../platform/rate-limit/rate-limits.js';
import type { SecurityEvents } from '../platform/security-events.js';
import { catalogRoutes } from './catalog/catalog.routes.js';
import { orderRoutes } from './orders/orders.routes.js';
import { walletRoutes } from './wallet/wallet.routes.js';
import { webhookRoutes } from './webhooks/webhooks.routes.js';

export interface ShopDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly config: Config;
  readonly media: MediaStore;
  /** The bounded queue every image decode runs on. */
  readonly imageDecodes: DecodeQueue;
  readonly events: SecurityEvents;
  readonly limits: RateLimits;
  readonly audit: AuditChain;
}

export function shopRoutes(deps: ShopDeps) {
  return async (app: FastifyInstance) => {
    await app.register(catalogRoutes(deps));
    await app.register(walletRoutes(deps));
    await app.register(orderRoutes(deps));
    // Encapsulated: its raw-body JSON parser applies to the webhook route only.
    await app.register(webhookRoutes(deps));
  };
}
