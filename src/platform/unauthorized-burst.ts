/**
 * Bursts of 401/403/429 raise one `unauthorized_burst` security event per window and per key
 * (DESIGN.md, Abuse resistance): per client address (token guessing, a scanner, a stolen-then-
 * revoked token on a loop) and per account (credential stuffing against one account from many
 * addresses). The account is the authenticated principal, or what the route's `burstAccount`
 * names (the login names the address it was asked about), so platform needs no auth import.
 * Counted in shared state, so every instance adds to the same count, and after the response is
 * sent, so the client never waits for it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientKey } from './rate-limit/client-key.js';
import type { SecurityEvents } from './security-events.js';
import type { SharedState } from './state/shared-state.js';

/** How a public route names the account a refusal counts against. */
export interface BurstAccount {
  /**
   * The account's counting key, or undefined. The body may be unparsed (a 429 answered before
   * validation), so read it defensively.
   */
  key(request: FastifyRequest): string | undefined;
  /**
   * The user behind `key` (which may be a keyed hash, so the request is passed too), for the
   * event; called only when an event is raised.
   */
  userId?(key: string, request: FastifyRequest): Promise<string | undefined>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    burstAccount?: BurstAccount;
  }
}

export interface BurstLimits {
  /** Refusals in one window that raise the event (defaults: 20 in 60 s). */
  readonly threshold: number;
  readonly windowSeconds: number;
}

const REFUSALS = new Set([401, 403, 429]);

export function installUnauthorizedBurst(
  app: FastifyInstance,
  state: SharedState,
  events: SecurityEvents,
  limits: BurstLimits,
): void {
  const windowMs = limits.windowSeconds * 1000;

  /** Counts one refusal under `key`; true exactly at the crossing (one event per window). */
  const crossed = async (key: string) => (await state.incr(key, windowMs)) === limits.threshold;

  const windowDetail = (route: string) => ({
    refusals: limits.threshold,
    windowSeconds: limits.windowSeconds,
    route,
  });

  const countClient = async (request: FastifyRequest, route: string) => {
    const client = clientKey(request.ip);
    if (!(await crossed(`unauth-burst:${client}`))) return;
    await events.record(request.log, {
      type: 'unauthorized_burst',
      ip: request.ip,
      userId: request.principal?.userId ?? null,
      detail: { scope: 'client', client, ...windowDetail(route) },
    });
  };

  const countAccount = async (request: FastifyRequest, route: string) => {
    const account = accountOf(request);
    if (!account) return;
    if (!(await crossed(`unauth-burst-account:${account.key}`))) return;
    await events.record(request.log, {
      type: 'unauthorized_burst',
      ip: request.ip,
      userId: (await account.userId().catch(() => undefined)) ?? null,
      detail: { scope: 'account', ...windowDetail(route) },
    });
  };

  const countRefusal = async (request: FastifyRequest) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const results = await Promise.allSettled([
      countClient(request, route),
      countAccount(request, route),
    ]);
    for (const r of results) {
      if (r.status === 'rejected')
        request.log.error({ err: r.reason }, 'unauthorized burst could not be counted');
    }
  };

  // Callback-style: the common answer (not a refusal) costs no promise on every request.
  app.addHook('onResponse', (request, reply, done) => {
    if (!REFUSALS.has(reply.statusCode)) return done();
    void countRefusal(request).then(() => done());
  });
}

/** The account a refusal counts against: what the route names, else the principal. */
function accountOf(
  request: FastifyRequest,
): { key: string; userId(): Promise<string | undefined> } | undefined {
  const named = request.routeOptions.config.burstAccount;
  const key = named?.key(request);
  // Its own namespace: a route's key (an email) never collides with a user id.
  if (named && key) return { key: `name:${key}`, userId: async () => named.userId?.(key, request) };
  const principal = request.principal?.userId;
  if (principal) return { key: `user:${principal}`, userId: async () => principal };
  return undefined;
}
