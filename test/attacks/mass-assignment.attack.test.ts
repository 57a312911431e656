/**
 * Role escalation and mass assignment through every writable body (issue 6): for each operation
 * in the OpenAPI document that takes a JSON body, a request that would otherwise succeed is sent
 * again with one extra field an attacker would try (roles, ownership, money, state); each must be
 * refused with 400 `validation_failed`, and afterwards no account holds a role it was not given.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/platform/clock.js';
import type { Actor } from '../support/actors.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { SETUP_TIMEOUT_MS } from '../support/mfa.js';
import { CASES } from '../support/route-cases.js';
import { WEBHOOK_SECRET } from '../support/shop.js';
import { CALLERS, World } from '../support/world.js';

const PROTO_KEYS = new Set(['__proto__', 'constructor']);
const PARSER_REFUSALS = ['validation_failed', 'malformed_json', 'bad_request'];

let ctx: TestContext;
let world: World;
let victim: Actor;
const clock = manualClock();

interface JsonBodyOperation {
  readonly method: string;
  readonly path: string;
  readonly properties: ReadonlySet<string>;
}
let writable: JsonBodyOperation[] = [];

/** Fields a client must never set; values point at another account or grant power. */
function hostileFields(): Record<string, unknown> {
  return {
    role: 'admin',
    roles: ['admin'],
    isAdmin: true,
    admin: true,
    userId: victim.userId,
    ownerId: victim.userId,
    authorId: victim.userId,
    id: victim.userId,
    email: victim.email,
    emailVerified: true,
    locked: false,
    mfaEnabled: false,
    balanceCents: 1_000_000,
    priceCents: 1,
    unitPriceCents: 1,
    totalCents: 1,
    status: 'paid',
    createdAt: '2000-01-01T00:00:00.000Z',
    __proto__: { admin: true },
    constructor: { prototype: { admin: true } },
  };
}

beforeAll(async () => {
  ctx = await createTestApp({ env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET }, deps: { clock } });
  world = new World(ctx.app, ctx.database.db, clock);
  victim = await world.fresh('other');
  const doc = (await ctx.app.inject({ url: '/openapi.json' })).json() as {
    paths: Record<
      string,
      Record<
        string,
        { requestBody?: { content?: Record<string, { schema?: { properties?: object } }> } }
      >
    >;
  };
  writable = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).flatMap(([method, op]) => {
      const schema = op.requestBody?.content?.['application/json']?.schema;
      if (!schema?.properties) return [];
      return [
        { method: method.toUpperCase(), path, properties: new Set(Object.keys(schema.properties)) },
      ];
    }),
  );
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

describe('mass assignment', () => {
  it('finds the writable operations in the document', () => {
    const keys = writable.map((o) => `${o.method} ${o.path}`);
    for (const expected of [
      'POST /auth/register',
      'POST /orders',
      'POST /posts',
      'PATCH /admin/users/{id}',
      'POST /products',
    ]) {
      expect(keys).toContain(expected);
    }
  });

  it('every writable body refuses every field it does not declare (400 validation_failed)', async () => {
    const accepted: string[] = [];
    for (const op of writable) {
      const c = CASES[`${op.method} ${op.path}`];
      expect(c, `${op.method} ${op.path} has no case`).toBeDefined();
      if (!c) continue;
      // The first caller the contract lets through (owner, else moderator, else admin).
      const index = CALLERS.findIndex(
        (caller, i) => caller !== 'anonymous' && (c.expect[i] ?? 0) < 300,
      );
      const caller = CALLERS[index];
      if (!caller || caller === 'anonymous') continue;
      for (const [field, value] of Object.entries(hostileFields())) {
        if (op.properties.has(field)) continue;
        const owner = await world.fresh('owner');
        const actor = caller === 'owner' ? owner : await world.fresh(caller);
        const built = (await c.build?.({ world, owner, caller: actor })) ?? {};
        const base = (built.payload ?? {}) as Record<string, unknown>;
        const payload = JSON.parse(JSON.stringify(base));
        Object.defineProperty(payload, field, { value, enumerable: true });
        const res = await ctx.app.inject({
          method: op.method as InjectOptions['method'],
          url: built.url ?? op.path,
          headers: {
            ...(built.headers as Record<string, string>),
            ...actor.headers,
            'content-type': 'application/json',
          },
          payload: JSON.stringify(payload),
        });
        // Prototype-pollution keys are refused even earlier, by Fastify's secure JSON parser.
        const allowed = PROTO_KEYS.has(field) ? PARSER_REFUSALS : ['validation_failed'];
        if (res.statusCode !== 400 || !allowed.includes(res.json().code)) {
          accepted.push(`${op.method} ${op.path} +${field}: ${res.statusCode} ${res.json().code}`);
        }
      }
    }
    expect(accepted).toEqual([]);
  }, 600_000);

  it('afterwards no account holds a role it was not given', async () => {
    const rows = await ctx.database.db.selectFrom('users').select(['id', 'roles']).execute();
    const admins = rows.filter((r) => r.roles.includes('admin'));
    const adminPrefix = await ctx.database.db
      .selectFrom('users')
      .select('email')
      .where(
        'id',
        'in',
        admins.length > 0 ? admins.map((a) => a.id) : ['00000000-0000-7000-8000-000000000000'],
      )
      .execute();
    for (const a of adminPrefix) expect(a.email).toMatch(/^admin-/);
    const victimRow = rows.find((r) => r.id === victim.userId);
    expect(victimRow?.roles).toEqual([]);
  });
});
