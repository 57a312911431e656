/** Default deny: a route that does not declare its access can never be served. */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Access, ROLES } from '../src/access/policy.js';
import { createTestApp, type TestContext } from './support/app.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx?.close());

/** Builds an app (on this file's database) with one extra route; resolves to the build error. */
async function buildWith(register: (app: FastifyInstance) => void): Promise<unknown> {
  try {
    const other = await createTestApp({
      database: ctx.database,
      state: ctx.state,
      beforeReady: register,
    });
    await other.close();
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('attack: a route without an access declaration', () => {
  it('makes the build fail, naming the route', async () => {
    const err = await buildWith((app) => {
      app.get('/test/forgotten', async () => ({ secret: true }));
    });
    expect(err).toBeInstanceOf(TypeError);
    expect(String((err as Error).message)).toContain('GET /test/forgotten');
  });

  it('makes the build fail when it hides inside a nested plugin', async () => {
    const err = await buildWith((app) => {
      void app.register(
        async (scope) => {
          scope.post('/hidden', async () => ({ ok: true }));
        },
        { prefix: '/test/nested' },
      );
    });
    expect(String((err as Error)?.message)).toContain('POST /test/nested/hidden');
  });

  it.each([
    ['a misspelled level', 'publc'],
    ['an empty role list', { roles: [] }],
    ['an unknown role', { roles: ['root'] }],
    ['a non-array role list', { roles: 'admin' }],
  ])('rejects %s as a declaration', async (_, access) => {
    const err = await buildWith((app) => {
      app.get('/test/odd', { config: { access: access as Access } }, async () => ({}));
    });
    expect(String((err as Error)?.message)).toContain('GET /test/odd');
  });

  it('builds when the route declares its access (control)', async () => {
    const err = await buildWith((app) => {
      app.get('/test/declared', { config: { access: 'public' } }, async () => ({}));
    });
    expect(err).toBeUndefined();
  });
});

describe('every route of the real app', () => {
  const isValid = (access: Access | undefined) =>
    access === 'public' ||
    access === 'authenticated' ||
    (typeof access === 'object' &&
      access.roles.length > 0 &&
      access.roles.every((r) => (ROLES as readonly string[]).includes(r)));

  it('declares a valid access', () => {
    const routes = ctx.app.routeAccess();
    expect(routes.length).toBeGreaterThan(3);
    expect(routes).toContainEqual({ method: 'GET', url: '/health/live', access: 'public' });
    const invalid = routes.filter((r) => !isValid(r.access));
    expect(invalid).toEqual([]);
  });

  it('refuses an anonymous caller on every non-public route with 401 unauthorized', async () => {
    const guarded = ctx.app.routeAccess().filter((r) => r.access !== 'public');
    expect(guarded.length).toBeGreaterThan(0);
    for (const route of guarded) {
      const url = route.url
        .replace(/:[^/]+/g, '0190a5b4-6d2e-7c3b-8f1a-2b3c4d5e6f70')
        .replace(/\*$/, 'x');
      const res = await ctx.app.inject({ method: route.method as 'GET', url });
      expect([route.method, route.url, res.statusCode]).toEqual([route.method, route.url, 401]);
      if (route.method !== 'HEAD') expect(res.json().code).toBe('unauthorized');
    }
  });
});
