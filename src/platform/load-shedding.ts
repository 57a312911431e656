/**
 * Load shedding with `@fastify/under-pressure`: while the event loop lags (or is saturated), new
 * requests are refused at once with our problem+json 503 `overloaded` and `Retry-After`, before
 * any rate-limit lookup or token check spends more of the loop. The liveness probe and the
 * metrics scrape are exempt: an overloaded instance is still alive and should be observable.
 * Readiness is not exempt, so a balancer drains an overloaded instance.
 *
 * A route may declare a `sheddingExemption` (issue 5: a login from a known device must get
 * through a flood). The pressure check runs on `onRequest`, before the body is parsed, so the
 * exemption is decided in two steps: a cheap look at headers and cookies there, and the real
 * check first thing in `preHandler`, before the route spends anything; a request that fails it
 * while the server is still under pressure is refused like any other.
 */
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { Config } from '../config.js';
import { platformError } from './errors.js';

export const LOAD_SAMPLE_INTERVAL_MS = 1000;
const EXEMPT = new Set(['/health/live', '/metrics']);

/** Which requests of a route load shedding lets through (supplied by the capability). */
export interface SheddingExemption {
  /** On `onRequest` (headers and cookies only; cheap): could this request be exempt? */
  readonly mayExempt: (request: FastifyRequest) => boolean;
  /** On `preHandler` (body parsed and validated): is it? E.g. an HMAC over the body's account. */
  readonly exempt: (request: FastifyRequest) => boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    sheddingExemption?: SheddingExemption;
  }
}

const overloaded = () => platformError('overloaded', undefined, { 'retry-after': '1' });

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
      if (request.routeOptions.config.sheddingExemption?.mayExempt(request)) return;
      throw overloaded();
    },
  });
  // The second step, on the routes that declare an exemption, ahead of their own preHandlers.
  app.addHook('onRoute', (route) => {
    const exemption = route.config?.sheddingExemption;
    if (!exemption) return;
    const confirm: preHandlerHookHandler = (request, _reply, done) => {
      if (app.isUnderPressure() && !exemption.exempt(request)) return done(overloaded());
      done();
    };
    const existing = route.preHandler ? [route.preHandler].flat() : [];
    route.preHandler = [confirm, ...existing];
  });
}
