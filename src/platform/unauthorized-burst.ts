/**
 * Bursts of 401/403 from one client (token guessing, a scanner, a stolen-then-revoked token on a
 * loop) raise one security event per window. Counted in shared state, so every instance adds to
 * the same count, and after the response is sent, so the client never waits for it.
 */
import type { FastifyInstance } from 'fastify';
import { clientKey } from './rate-limit/client-key.js';
import type { SecurityEvents } from './security-events.js';
import type { SharedState } from './state/shared-state.js';

/** 20 refusals in 60 s: far above a user mistyping or a client refreshing an expired token. */
export const UNAUTHORIZED_BURST_THRESHOLD = 20;
export const UNAUTHORIZED_BURST_WINDOW_MS = 60_000;

export function installUnauthorizedBurst(
  app: FastifyInstance,
  state: SharedState,
  events: SecurityEvents,
): void {
  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    if (status !== 401 && status !== 403) return;
    const client = clientKey(request.ip);
    try {
      const count = await state.incr(`unauth-burst:${client}`, UNAUTHORIZED_BURST_WINDOW_MS);
      // Exactly at the crossing: a flood yields one event per window, not one per request.
      if (count !== UNAUTHORIZED_BURST_THRESHOLD) return;
      await events.record(request.log, {
        type: 'unauthorized_burst',
        ip: request.ip,
        userId: request.principal?.userId ?? null,
        detail: {
          client,
          refusals: count,
          windowSeconds: UNAUTHORIZED_BURST_WINDOW_MS / 1000,
          route: request.routeOptions.url ?? 'unmatched',
        },
      });
    } catch (err) {
      request.log.error({ err }, 'unauthorized burst could not be counted');
    }
  });
}
