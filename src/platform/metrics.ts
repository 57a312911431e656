/**
 * Prometheus metrics for one app: a registry of its own (never prom-client's global one, so two
 * apps in one process never share a counter), the default process metrics, request counts and
 * latency by route pattern, login outcomes, throttles, hash pool depth, revocations and security
 * events. The per-request cost is one onResponse hook feeding RequestMetrics' plain arrays.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { AppError } from './errors.js';
import type { HashPool } from './hash-pool.js';
import { RequestMetrics } from './request-metrics.js';
import type { SecurityEvents } from './security-events.js';

export interface MetricsSources {
  readonly pool: HashPool;
  readonly events: SecurityEvents;
  /** The auth revocation list (structural: platform does not import auth). */
  readonly revocations: {
    onAnnounce(listener: (sessionIds: readonly string[]) => void): void;
  };
}

export interface Metrics {
  readonly registry: Registry;
}

const LOGIN_ROUTE = '/auth/login';
/** Error codes of the login route, as outcomes; any other error is `error`. */
const LOGIN_FAILURES: Readonly<Record<string, string>> = {
  invalid_credentials: 'invalid_credentials',
  email_not_verified: 'email_not_verified',
  mfa_required: 'mfa_required',
  rate_limited: 'throttled',
  overloaded: 'overloaded',
};
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The route pattern (`/auth/sessions/:id`), never the raw URL: ids would explode cardinality. */
function routeLabel(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

/** Creates the app's registry and instruments the app; call before its routes are registered. */
export function installMetrics(app: FastifyInstance, sources: MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requests = new RequestMetrics(DURATION_BUCKETS);
  requests.register(registry);
  const loginOutcomes = new Counter({
    name: 'bastion_login_outcomes_total',
    help: 'Password logins by outcome (success, invalid_credentials, email_not_verified, throttled, ...).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const rateLimited = new Counter({
    name: 'bastion_rate_limited_total',
    help: 'Requests refused with 429 rate_limited, by the route whose limit refused them.',
    labelNames: ['route'] as const,
    registers,
  });
  const revoked = new Counter({
    name: 'bastion_revocations_total',
    help: 'Sessions revoked (logout, logout-all, reuse detection, password reset or change) by this instance.',
    registers,
  });
  const securityEvents = new Counter({
    name: 'bastion_security_events_total',
    help: 'Security events recorded by this instance, by type.',
    labelNames: ['type'] as const,
    registers,
  });
  new Gauge({
    name: 'bastion_hash_pool_active',
    help: 'Password hashes running now.',
    registers,
    collect() {
      this.set(sources.pool.active);
    },
  });
  new Gauge({
    name: 'bastion_hash_pool_queued',
    help: 'Password hashes waiting for a slot.',
    registers,
    collect() {
      this.set(sources.pool.queued);
    },
  });

  sources.events.onEvent((event) => securityEvents.inc({ type: event.type }));
  sources.revocations.onAnnounce((sessionIds) => revoked.inc(sessionIds.length));

  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const route = routeLabel(request);
    const status = reply.statusCode;
    requests.observe(route, request.method, status, reply.elapsedTime / 1000);
    if (status === 429) rateLimited.inc({ route });
    if (route === LOGIN_ROUTE && status === 200) loginOutcomes.inc({ outcome: 'success' });
    done();
  });

  // Failures are told apart by their problem code (401 alone would mix invalid_credentials with
  // mfa_required); this hook runs only for requests that failed.
  app.addHook('onError', (request, _reply, error, done) => {
    if (routeLabel(request) === LOGIN_ROUTE) {
      const code = error instanceof AppError ? error.code : '';
      loginOutcomes.inc({ outcome: LOGIN_FAILURES[code] ?? 'error' });
    }
    done();
  });

  return { registry };
}
