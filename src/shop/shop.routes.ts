/** The shop API (issue 7): catalog, wallet, orders, posts, payment webhooks. */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { SecurityEvents } from '../platform/security-events.js';
import type { MediaStore } from './uploads/media.store.js';

export interface ShopDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly config: Config;
  readonly media: MediaStore;
  readonly events: SecurityEvents;
}

export function shopRoutes(_deps: ShopDeps) {
  return async (_app: FastifyInstance) => {};
}
