/**
 * The authorization matrix (issue 6): every operation in the OpenAPI document, called by each of
 * {anonymous, owner, other user, moderator, admin}, must answer the status the contract gives
 * that caller. Objects in the path belong to the owner, so "other" probes object-level
 * authorization (OWASP API1) on every route that takes an id. An operation missing from the
 * table fails the test: a new route cannot ship without a reviewed policy.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/platform/clock.js';
import type { Actor } from '../support/actors.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { SETUP_TIMEOUT_MS } from '../support/mfa.js';
import { CASES, type Case } from '../support/route-cases.js';
import { WEBHOOK_SECRET } from '../support/shop.js';
import { CALLERS, type Caller, World } from '../support/world.js';

let ctx: TestContext;
let world: World;
let operations: { method: string; path: string }[] = [];
const clock = manualClock();

beforeAll(async () => {
  ctx = await createTestApp({ env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET }, deps: { clock } });
  world = new World(ctx.app, ctx.database.db, clock);
  const doc = (await ctx.app.inject({ url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })),
  );
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

async function call(method: string, path: string, c: Case, caller: Caller): Promise<number> {
  const isRead = method === 'GET';
  const owner = isRead ? await world.actor('owner') : await world.fresh('owner');
  let actor: Actor | undefined;
  if (caller === 'owner') actor = owner;
  else if (caller !== 'anonymous')
    actor = isRead ? await world.actor(caller) : await world.fresh(caller);
  const built = (await c.build?.({ world, owner, caller: actor })) ?? {};
  const res = await ctx.app.inject({
    method: method as InjectOptions['method'],
    url: built.url ?? path,
    payload: built.payload,
    headers: { ...(built.headers as Record<string, string>), ...actor?.headers },
  } as InjectOptions);
  return res.statusCode;
}

/** The hosted pages (issue 15): public routes that check the page session themselves. */
const HOSTED_PAGES =
  '^/(login|register|verify-email|forgot-password|reset-password|secure-account|confirm-email|revert-email|accept-invite|account|account/identities/link|account/identities/:id/unlink|account/profile|account/email|account/password|account/sessions/:id/revoke|account/logout-all|account/delete|account/mfa/(setup|confirm|recovery-codes|disable)|account/avatar|account/passkeys|account/passkeys/options|account/passkeys/:id/(rename|remove)|logout|auth/login/mfa/page|admin|admin/accounts/:id/(lock|unlock|roles|logout-all|require-password-reset|reset-mfa|resend-verification|delete)|admin/audit-log|admin/audit-log/verify|admin/security-log|assets/bastion\\.css|assets/(login-mfa|webauthn|passkeys)\\.js)$';

describe('authorization matrix', () => {
  it('every operation in the OpenAPI document has a reviewed row', () => {
    expect(operations.length).toBeGreaterThan(40);
    const missing = operations.map((o) => `${o.method} ${o.path}`).filter((k) => !(k in CASES));
    expect(missing).toEqual([]);
    const stale = Object.keys(CASES).filter(
      (k) => !operations.some((o) => `${o.method} ${o.path}` === k),
    );
    expect(stale).toEqual([]);
  });

  it('routes outside the document are public on purpose (docs viewer, media, metrics, pages)', () => {
    const documented = new Set(
      operations.map((o) => `${o.method} ${o.path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const hidden = ctx.app
      .routeAccess()
      .filter((r) => r.method !== 'HEAD' && !documented.has(`${r.method} ${r.url}`));
    for (const r of hidden) {
      expect(r.access, `${r.method} ${r.url}`).toBe('public');
      expect(r.url).toMatch(new RegExp(`^/(docs|media|metrics|openapi\\.json)|${HOSTED_PAGES}`));
    }
  });

  it('each caller gets the status the contract gives it, on every operation', async () => {
    const mismatches: string[] = [];
    for (const { method, path } of operations) {
      const c = CASES[`${method} ${path}`];
      if (!c) continue;
      for (const [i, caller] of CALLERS.entries()) {
        const status = await call(method, path, c, caller);
        if (status !== c.expect[i]) {
          mismatches.push(`${method} ${path} as ${caller}: ${status}, expected ${c.expect[i]}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  }, 600_000);
});
