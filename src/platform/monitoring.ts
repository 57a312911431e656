/**
 * Monitoring and load shedding, installed together (DESIGN.md, Abuse resistance): under-pressure
 * first (it refuses before anything else runs), then metrics and `GET /metrics`, the alert
 * webhook and 401/403/429 burst detection. Call after the access policy and global rate limit are
 * installed and before the routes they should see.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { installAlerts } from './alerts.js';
import type { HashPool } from './hash-pool.js';
import { installLoadShedding } from './load-shedding.js';
import { installMetrics, type MetricsSources } from './metrics.js';
import { metricsRoutes } from './metrics.routes.js';
import type { SecurityEvents } from './security-events.js';
import type { SharedState } from './state/shared-state.js';
import { installUnauthorizedBurst } from './unauthorized-burst.js';

export interface MonitoringDeps {
  readonly config: Config;
  readonly state: SharedState;
  readonly pool: HashPool;
  readonly events: SecurityEvents;
  readonly revocations: MetricsSources['revocations'];
}

export async function installMonitoring(app: FastifyInstance, deps: MonitoringDeps): Promise<void> {
  await installLoadShedding(app, deps.config.loadShedding);
  const metrics = installMetrics(app, deps);
  await app.register(metricsRoutes(deps.config.metricsToken, metrics.registry));
  installAlerts(app, deps.config.alertWebhook, deps.events);
  installUnauthorizedBurst(app, deps.state, deps.events, deps.config.securityBurst);
}
