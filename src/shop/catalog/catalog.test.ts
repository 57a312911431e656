/** The catalog through the API: admin management, public reads, cursor paging (issue 7). */
import { describe, expect, it } from 'vitest';
import type { Actors } from '../../../test/support/actors.js';
import type { TestContext } from '../../../test/support/app.js';
import { useCast } from '../../../test/support/cast-app.js';
import { createProduct } from '../../../test/support/shop.js';
import { codeOf } from '../../../test/support/tokens.js';

let ctx: TestContext;
let actors: Actors;

useCast((c, a) => {
  ctx = c;
  actors = a;
});

describe('catalog', () => {
  it('an admin creates a product: 201, Location, the product shape', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/products',
      headers: actors.admin.headers,
      payload: { name: 'Lamp', description: 'Warm\nlight', priceCents: 1999, stock: 3 },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(res.headers.location).toBe(`/products/${body.id}`);
    expect(body).toEqual({
      id: expect.any(String),
      name: 'Lamp',
      description: 'Warm\nlight',
      priceCents: 1999,
      stock: 3,
      imageUrl: null,
      createdAt: expect.any(String),
    });
    const read = await ctx.app.inject({ method: 'GET', url: `/products/${body.id}` });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(body);
  });

  it('PATCH changes only the given fields and answers 200 with the product', async () => {
    const id = await createProduct(ctx.app, actors.admin.headers, { name: 'Mug', priceCents: 800 });
    const res = await ctx.app.inject({
      method: 'PATCH',
      url: `/products/${id}`,
      headers: actors.admin.headers,
      payload: { priceCents: 900 },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, name: 'Mug', priceCents: 900, stock: 10 });
  });

  it('DELETE answers 204, then the product is gone from reads and edits', async () => {
    const id = await createProduct(ctx.app, actors.admin.headers);
    const del = await ctx.app.inject({
      method: 'DELETE',
      url: `/products/${id}`,
      headers: actors.admin.headers,
    });
    expect(del.statusCode).toBe(204);
    for (const res of [
      await ctx.app.inject({ method: 'GET', url: `/products/${id}` }),
      await ctx.app.inject({
        method: 'PATCH',
        url: `/products/${id}`,
        headers: actors.admin.headers,
        payload: { stock: 1 },
      }),
      await ctx.app.inject({
        method: 'DELETE',
        url: `/products/${id}`,
        headers: actors.admin.headers,
      }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(codeOf(res)).toBe('not_found');
    }
    const list = await ctx.app.inject({ method: 'GET', url: '/products?limit=100' });
    expect(list.json().items.map((p: { id: string }) => p.id)).not.toContain(id);
  });

  it('pages the catalog by cursor in a stable id order, each product once', async () => {
    for (let i = 0; i < 5; i++)
      await createProduct(ctx.app, actors.admin.headers, { name: `P${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/products?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await ctx.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      const page = res.json() as { items: { id: string }[]; nextCursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((p) => p.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(seen);
  });

  it('reads are public; management is admin only (401 anonymous, 403 user or moderator)', async () => {
    const id = await createProduct(ctx.app, actors.admin.headers);
    expect((await ctx.app.inject({ method: 'GET', url: '/products' })).statusCode).toBe(200);
    const attempts = (headers: Record<string, string>) => [
      {
        method: 'POST' as const,
        url: '/products',
        headers,
        payload: { name: 'x', priceCents: 1, stock: 1 },
      },
      { method: 'PATCH' as const, url: `/products/${id}`, headers, payload: { stock: 0 } },
      { method: 'DELETE' as const, url: `/products/${id}`, headers },
    ];
    for (const a of attempts({})) {
      const res = await ctx.app.inject(a);
      expect(res.statusCode).toBe(401);
      expect(codeOf(res)).toBe('unauthorized');
    }
    for (const who of [actors.user, actors.moderator]) {
      for (const a of attempts(who.headers)) {
        const res = await ctx.app.inject(a);
        expect(res.statusCode).toBe(403);
        expect(codeOf(res)).toBe('forbidden');
      }
    }
    const still = await ctx.app.inject({ method: 'GET', url: `/products/${id}` });
    expect(still.json()).toMatchObject({ stock: 10 });
  });
});

describe('OpenAPI', () => {
  it('documents the shop routes with their schemas', async () => {
    const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of [
      '/products',
      '/products/{id}',
      '/products/{id}/image',
      '/wallet',
      '/wallet/ledger',
      '/orders',
      '/orders/{id}',
      '/webhooks/payments',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.paths['/orders'].post.requestBody).toBeDefined();
  });
});
