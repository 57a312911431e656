/**
 * What the shop's modules receive from `buildApp`. Its own file: the sub-modules import the type
 * and `shop.routes.ts` imports the sub-modules, so neither imports the other in a circle.
 */
import type { Config } from '../config.js';
import type { AuditChain } from '../platform/audit/audit.store.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { DecodeQueue } from '../platform/media/decode-queue.js';
import type { MediaStore } from '../platform/media/media.store.js';
import type { RateLimits } from '../platform/rate-limit/rate-limits.js';
import type { SecurityEvents } from '../platform/security-events.js';

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
