/**
 * Load shedding with `@fastify/under-pressure`: while the event loop lags (or is saturated), new
 * requests are refused at once with our problem+json 503 `overloaded` and `Retry-After`, before
 * any rate-limit lookup or token check spends more of the loop. The liveness probe and the
 * metrics scrape are exempt: an overloaded instance is still alive and should be observable.
 * Readiness is not exempt, so a balancer drains an overloaded instance.
 */
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { platformError } from './errors.js';

export const LOAD_SAMPLE_INTERVAL_MS = 1000;
const EXEMPT = new Set(['/health/live', '/metrics']);

/** Installs the pressure check; with both thresholds at 0 (off) nothing is installed. */
export async function installLoadShedding(
  app: FastifyInstance,
  limits: Config['loadShedding'],
): Promise<void> {
  if (limits.maxEventLoopDelayMs === 0 && limits.maxEventLoopUtilization === 0) return;
  await app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxEventLoopUtilization: limits.maxEventLoopUtilization,
    // Utilization over the last sample, not the average since boot.
    eventLoopUtilizationMode: 'interval',
    sampleInterval: LOAD_SAMPLE_INTERVAL_MS,
    // No status route: it would be a route without an access declaration (default deny).
    exposeStatusRoute: false,
    // Called only while under pressure; the rejection goes through our error handler.
    pressureHandler: async (request: FastifyRequest) => {
      if (EXEMPT.has(request.routeOptions.url ?? '')) return;
      throw platformError('overloaded', undefined, { 'retry-after': '1' });
    },
  });
}
