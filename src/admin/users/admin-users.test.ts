/**
 * The admin API (issue 6): search and paging, role and lock changes with their limits on
 * oneself, deletion as a tombstone, forced logout; every change audited and the chain intact.
 */
import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { type Actor, type Actors, createActor, createAdmin } from '../../../test/support/actors.js';
import type { TestContext } from '../../../test/support/app.js';
import { bearer, login, STRONG_PASSWORD } from '../../../test/support/auth.js';
import { useCast } from '../../../test/support/cast-app.js';
import {
  auditLedger,
  CLEAN_LEDGER,
  createProduct,
  fund,
  placeOrder,
} from '../../../test/support/shop.js';
import { me, refresh } from '../../../test/support/tokens.js';

let ctx: TestContext;
let cast: Actors;

const clock = useCast((c, a) => {
  ctx = c;
  cast = a;
});

function asAdmin(method: 'GET' | 'PATCH' | 'DELETE' | 'POST', url: string, payload?: unknown) {
  return ctx.app.inject({ method, url, headers: cast.admin.headers, payload: payload as object });
}

function expectCode(res: LightMyRequestResponse, status: number, code?: string): void {
  expect(res.statusCode, res.body).toBe(status);
  if (code) expect(res.json().code).toBe(code);
}

async function auditActions(targetId: string): Promise<string[]> {
  const rows = await ctx.database.db
    .selectFrom('audit_log')
    .select('action')
    .where('target_id', '=', targetId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => r.action);
}

async function fresh(): Promise<Actor> {
  return createActor(ctx.app, ctx.database.db, { prefix: 'target' });
}

describe('GET /admin/users', () => {
  it('finds accounts by email or display name, case-insensitively, a page at a time', async () => {
    const named = await createActor(ctx.app, ctx.database.db, {
      prefix: 'needle',
      displayName: 'Haystack 50%_Off',
    });
    const byEmail = await asAdmin('GET', `/admin/users?query=${encodeURIComponent('NEEDLE-')}`);
    expectCode(byEmail, 200);
    expect(byEmail.json().items.map((u: { id: string }) => u.id)).toContain(named.userId);
    const byName = await asAdmin('GET', `/admin/users?query=${encodeURIComponent('50%_off')}`);
    expect(byName.json().items.map((u: { id: string }) => u.id)).toEqual([named.userId]);
    // LIKE wildcards in the query are literal: '%' alone matches only names containing '%'.
    const wildcard = await asAdmin('GET', '/admin/users?query=%25');
    expect(wildcard.json().items.map((u: { id: string }) => u.id)).toEqual([named.userId]);

    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const res = await asAdmin('GET', `/admin/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expectCode(res, 200);
      const body = res.json() as { items: { id: string; email: string }[]; nextCursor: string };
      for (const u of body.items) {
        expect(seen.has(u.id)).toBe(false);
        seen.add(u.id);
        expect(u.email).toContain('@');
      }
      cursor = body.nextCursor;
    } while (cursor);
    for (const a of [cast.user, cast.other, cast.moderator, cast.admin]) {
      expect(seen.has(a.userId)).toBe(true);
    }
  });

  it('is for admins only: users and moderators get 403, anonymous 401', async () => {
    expectCode(await ctx.app.inject({ url: '/admin/users', headers: cast.user.headers }), 403);
    expectCode(await ctx.app.inject({ url: '/admin/users', headers: cast.moderator.headers }), 403);
    expectCode(await ctx.app.inject({ url: '/admin/users' }), 401, 'unauthorized');
  });
});

describe('PATCH /admin/users/:id', () => {
  it('a promotion shows in the next refreshed token; the account view says so at once', async () => {
    const target = await fresh();
    const res = await asAdmin('PATCH', `/admin/users/${target.userId}`, { roles: ['moderator'] });
    expectCode(res, 200);
    expect(res.json().roles.sort()).toEqual(['moderator', 'user']);
    const refreshed = await refresh(ctx.app, target.cookie, target.csrfToken);
    expectCode(refreshed, 200);
    const claims = JSON.parse(
      Buffer.from(refreshed.json().accessToken.split('.')[1], 'base64url').toString(),
    );
    expect(claims.roles.sort()).toEqual(['moderator', 'user']);
    expect(await auditActions(target.userId)).toContain('admin.user.roles_changed');
  });

  it('a demotion revokes every session of the account at once', async () => {
    const target = await fresh();
    await asAdmin('PATCH', `/admin/users/${target.userId}`, { roles: ['moderator'] });
    const promoted = await login(ctx.app, target.email, STRONG_PASSWORD);
    expectCode(await me(ctx.app, promoted.accessToken), 200);
    expectCode(await asAdmin('PATCH', `/admin/users/${target.userId}`, { roles: [] }), 200);
    expectCode(await me(ctx.app, promoted.accessToken), 401, 'unauthorized');
    expectCode(await refresh(ctx.app, promoted.cookie, promoted.csrfToken), 401, 'unauthorized');
  });

  it('demoting another admin (admin -> none) ends every session of the demoted admin at once (issue 6)', async () => {
    const demoted = await createAdmin(ctx.app, ctx.database.db, clock);
    expectCode(await ctx.app.inject({ url: '/admin/users', headers: demoted.headers }), 200);
    const res = await asAdmin('PATCH', `/admin/users/${demoted.userId}`, { roles: [] });
    expectCode(res, 200);
    expect(res.json().roles).toEqual(['user']);
    expectCode(await me(ctx.app, demoted.accessToken), 401, 'unauthorized');
    expectCode(
      await ctx.app.inject({ url: '/admin/users', headers: demoted.headers }),
      401,
      'unauthorized',
    );
    expectCode(await refresh(ctx.app, demoted.cookie, demoted.csrfToken), 401, 'unauthorized');
  });

  it('locking ends the sessions and makes login look like a wrong password; unlocking undoes it', async () => {
    const target = await fresh();
    expectCode(await asAdmin('PATCH', `/admin/users/${target.userId}`, { locked: true }), 200);
    expectCode(await me(ctx.app, target.accessToken), 401);
    const denied = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: target.email, password: STRONG_PASSWORD },
    });
    expectCode(denied, 401, 'invalid_credentials');
    const unlocked = await asAdmin('PATCH', `/admin/users/${target.userId}`, { locked: false });
    expect(unlocked.json().locked).toBe(false);
    await login(ctx.app, target.email, STRONG_PASSWORD);
    expect(await auditActions(target.userId)).toEqual(['admin.user.locked', 'admin.user.unlocked']);
  });

  it('an admin cannot remove their own admin role or lock themselves (409)', async () => {
    const self = `/admin/users/${cast.admin.userId}`;
    expectCode(await asAdmin('PATCH', self, { roles: ['moderator'] }), 409, 'cannot_modify_self');
    expectCode(await asAdmin('PATCH', self, { locked: true }), 409, 'cannot_modify_self');
    // Keeping admin while adding a role is allowed.
    const ok = await asAdmin('PATCH', self, { roles: ['admin', 'moderator'] });
    expectCode(ok, 200);
    expect(ok.json().roles).toContain('admin');
    await asAdmin('PATCH', self, { roles: ['admin'] });
  });

  it('refuses unknown roles, unknown keys and an empty body (400), an unknown id (404)', async () => {
    const url = `/admin/users/${cast.user.userId}`;
    expectCode(await asAdmin('PATCH', url, { roles: ['superuser'] }), 400, 'validation_failed');
    expectCode(await asAdmin('PATCH', url, { email: 'x@example.test' }), 400, 'validation_failed');
    expectCode(await asAdmin('PATCH', url, {}), 400, 'validation_failed');
    const missing = '01890000-0000-7000-8000-000000000000';
    expectCode(
      await asAdmin('PATCH', `/admin/users/${missing}`, { locked: true }),
      404,
      'not_found',
    );
  });

  it('needs a login within 5 minutes (401 reauthentication_required)', async () => {
    clock.advance(6 * 60_000);
    try {
      const res = await asAdmin('PATCH', `/admin/users/${cast.user.userId}`, { locked: false });
      expectCode(res, 401, 'reauthentication_required');
      const del = await asAdmin('DELETE', `/admin/users/${cast.user.userId}`);
      expectCode(del, 401, 'reauthentication_required');
    } finally {
      clock.advance(-6 * 60_000);
    }
  });
});

describe('DELETE /admin/users/:id and POST /admin/users/:id/logout-all', () => {
  it('deletion kills the sessions, hides the account and frees the email; the row stays', async () => {
    const target = await fresh();
    expectCode(await asAdmin('DELETE', `/admin/users/${target.userId}`), 204);
    expectCode(await me(ctx.app, target.accessToken), 401);
    expectCode(await asAdmin('GET', `/users/${target.userId}`), 404, 'not_found');
    expectCode(await asAdmin('DELETE', `/admin/users/${target.userId}`), 404, 'not_found');
    const row = await ctx.database.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', target.userId)
      .executeTakeFirstOrThrow();
    expect(row.deleted_at).not.toBeNull();
    expect(row.password_hash).toBeNull();
    expect(row.email).not.toContain(target.email);
    expect(row.display_name).toBe('Deleted user');
    const again = await ctx.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: target.email, password: STRONG_PASSWORD, displayName: 'Back' },
    });
    expectCode(again, 202);
    expect(await auditActions(target.userId)).toEqual(['admin.user.deleted']);
  });

  it('deleting a user keeps their orders and wallet: the ledger still sums (issue 6)', async () => {
    const target = await fresh();
    const productId = await createProduct(ctx.app, cast.admin.headers, { priceCents: 300 });
    await fund(ctx.database.db, target.userId, 1000);
    const placed = await placeOrder(ctx.app, target.headers, {
      items: [{ productId, quantity: 2 }],
    });
    expectCode(placed, 201);
    const orderId = placed.json().id as string;

    expectCode(await asAdmin('DELETE', `/admin/users/${target.userId}`), 204);

    const order = await asAdmin('GET', `/orders/${orderId}`);
    expectCode(order, 200);
    expect(order.json()).toMatchObject({ id: orderId, userId: target.userId, totalCents: 600 });
    const wallet = await ctx.database.db
      .selectFrom('wallets')
      .select('balance_cents')
      .where('user_id', '=', target.userId)
      .executeTakeFirstOrThrow();
    expect(Number(wallet.balance_cents)).toBe(400);
    expect(await auditLedger(ctx.database.db)).toEqual(CLEAN_LEDGER);
  });

  it('an admin cannot delete themselves (409)', async () => {
    expectCode(
      await asAdmin('DELETE', `/admin/users/${cast.admin.userId}`),
      409,
      'cannot_modify_self',
    );
  });

  it('force logout ends every session of the account', async () => {
    const target = await fresh();
    const second = await login(ctx.app, target.email, STRONG_PASSWORD);
    expectCode(await asAdmin('POST', `/admin/users/${target.userId}/logout-all`), 204);
    expectCode(await me(ctx.app, target.accessToken), 401);
    expectCode(await me(ctx.app, second.accessToken), 401);
    expect(await auditActions(target.userId)).toEqual(['admin.user.sessions_revoked']);
  });
});

describe('audit log', () => {
  it('lists entries newest first with who, what, target, when and from where; the chain verifies', async () => {
    // Its own entries, more than a page: the test must not rely on what the others did first.
    const target = await fresh();
    for (let i = 0; i < 6; i++) {
      const patch = await asAdmin('PATCH', `/admin/users/${target.userId}`, {
        locked: i % 2 === 0,
      });
      expectCode(patch, 200);
    }
    const res = await asAdmin('GET', '/admin/audit?limit=5');
    expectCode(res, 200);
    const { items, nextCursor } = res.json();
    expect(items.length).toBe(5);
    expect(nextCursor).toMatch(/^\d+$/);
    for (const e of items) {
      expect(e.actorId).toBe(cast.admin.userId);
      expect(e.ip).toBe('127.0.0.1');
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(Number(items[0].seq)).toBeGreaterThan(Number(items[4].seq));
    const next = await asAdmin('GET', `/admin/audit?limit=5&cursor=${nextCursor}`);
    expect(Number(next.json().items[0].seq)).toBeLessThan(Number(items[4].seq));
    const verify = await asAdmin('GET', '/admin/audit/verify');
    expectCode(verify, 200);
    expect(verify.json()).toMatchObject({ intact: true, firstBrokenId: null });
    expect(verify.json().entries).toBeGreaterThanOrEqual(5);
  });

  it('security events are listed for admins only', async () => {
    expectCode(await asAdmin('GET', '/admin/security-events'), 200);
    expectCode(
      await ctx.app.inject({
        url: '/admin/security-events',
        headers: bearer(cast.user.accessToken),
      }),
      403,
    );
  });
});
