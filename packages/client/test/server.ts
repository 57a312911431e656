/**
 * A real Bastion for the client's tests, listening on a loopback port (test/support/browser.ts's
 * serveApp) with a manual clock, counting the refreshes and 401s it answers over the network.
 */
import type { Role } from '../../../src/access/policy.js';
import { manualClock } from '../../../src/platform/clock.js';
import { createActor } from '../../../test/support/actors.js';
import { STRONG_PASSWORD } from '../../../test/support/auth.js';
import { type ServedApp, serveApp } from '../../../test/support/browser.js';

export { STRONG_PASSWORD };

/** An access token's life (900 s) plus the verifier's tolerance (30 s), and a bit. */
export const PAST_ACCESS_EXPIRY_MS = 16 * 60_000;

export interface Answer {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

export interface Bastion {
  readonly served: ServedApp;
  readonly base: string;
  readonly clock: ReturnType<typeof manualClock>;
  /** Every answer, in order. */
  readonly answers: Answer[];
  /** How many `POST /auth/refresh` answers there were (any status). */
  refreshes(): number;
  /** A verified account (not signed in through the client): its email. */
  newAccount(roles?: Role[]): Promise<{ email: string; userId: string; accessToken: string }>;
  close(): Promise<void>;
}

export async function startBastion(env: Record<string, string> = {}): Promise<Bastion> {
  const clock = manualClock();
  const answers: Answer[] = [];
  const served = await serveApp(
    {
      env,
      deps: { clock },
      beforeReady: (app) => {
        app.addHook('onResponse', async (request, reply) => {
          const path = request.url.split('?')[0] ?? request.url;
          answers.push({ method: request.method, path, status: reply.statusCode });
        });
      },
    },
    async () => ({ ...env }),
  );
  return {
    served,
    base: served.base,
    clock,
    answers,
    refreshes: () =>
      answers.filter((a) => a.method === 'POST' && a.path === '/auth/refresh').length,
    async newAccount(roles = []) {
      const actor = await createActor(served.ctx.app, served.ctx.database.db, { roles });
      return { email: actor.email, userId: actor.userId, accessToken: actor.accessToken };
    },
    close: () => served.close(),
  };
}
