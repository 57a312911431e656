/**
 * The OpenAPI document as a contract for generated clients (issue 18, first part): every
 * operation has a unique, stable `operationId`, and every operation whose route needs a signed-in
 * caller says so in `security`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationIdOf } from '../src/platform/openapi.js';
import { createTestApp, type TestContext } from './support/app.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
}, 180_000);
afterAll(async () => ctx?.close());

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
}

async function operations(): Promise<{ method: string; path: string; op: Operation }[]> {
  const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  return Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(
    ([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}

describe('OpenAPI contract', () => {
  it('operation ids read from the method and path', () => {
    expect(operationIdOf('DELETE', '/auth/identities/:id')).toBe('deleteAuthIdentitiesById');
    expect(operationIdOf('GET', '/.well-known/jwks.json')).toBe('getWellKnownJwksJson');
    expect(operationIdOf('POST', '/auth/passkeys/register/options')).toBe(
      'postAuthPasskeysRegisterOptions',
    );
  });

  it('every operation has an operationId, and no two share one', async () => {
    const ops = await operations();
    expect(ops.length).toBeGreaterThan(40);
    expect(ops.filter((o) => !o.op.operationId).map((o) => `${o.method} ${o.path}`)).toEqual([]);
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every operation that needs a signed-in caller declares the bearer scheme', async () => {
    const ops = await operations();
    const byKey = new Map(ops.map((o) => [`${o.method} ${o.path}`, o.op]));
    const missing: string[] = [];
    let guarded = 0;
    for (const route of ctx.app.routeAccess()) {
      if (route.access === undefined || route.access === 'public') continue;
      const op = byKey.get(`${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
      if (!op) continue; // not in the document (the authorization matrix checks those)
      guarded += 1;
      if (!op.security?.some((s) => 'bearer' in s)) missing.push(`${route.method} ${route.url}`);
    }
    expect(guarded).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });
});
