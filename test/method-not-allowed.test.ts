/**
 * A path that exists under other methods answers 405 with `Allow`; a path that does not exist,
 * 404. SECURITY-CHECKLIST AZ-05: PUT/DELETE on /admin/audit → 405, so the append-only log offers
 * no write method even to an admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/platform/clock.js';
import type { Actor } from './support/actors.js';
import { createAdmin } from './support/actors.js';
import { createTestApp, type TestContext } from './support/app.js';
import { SETUP_TIMEOUT_MS } from './support/mfa.js';

let ctx: TestContext;
let admin: Actor;
const clock = manualClock();

beforeAll(async () => {
  ctx = await createTestApp({ deps: { clock } });
  admin = await createAdmin(ctx.app, ctx.database.db, clock);
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

describe('405 method_not_allowed', () => {
  for (const method of ['PUT', 'DELETE', 'PATCH', 'POST'] as const) {
    it(`${method} /admin/audit, even as an admin: 405 with Allow`, async () => {
      const res = await ctx.app.inject({ method, url: '/admin/audit', headers: admin.headers });
      expect(res.statusCode).toBe(405);
      expect(res.json().code).toBe('method_not_allowed');
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(res.headers['content-type']).toContain('application/problem+json');
    });
  }

  it('a parameterized path: DELETE /admin/audit/verify and PUT /users/:id are 405', async () => {
    const verify = await ctx.app.inject({ method: 'DELETE', url: '/admin/audit/verify' });
    expect(verify.statusCode).toBe(405);
    const user = await ctx.app.inject({ method: 'PUT', url: `/users/${admin.userId}?x=1` });
    expect(user.statusCode).toBe(405);
    expect(user.headers.allow).toBe('GET, HEAD');
  });

  it('an unknown path stays 404 not_found', async () => {
    const res = await ctx.app.inject({ method: 'PUT', url: '/admin/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
  });
});
