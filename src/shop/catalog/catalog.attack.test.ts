/**
 * Attacks on the catalog (issue 7): mass assignment and out-of-range values in product bodies,
 * SQL strings in every string field, hostile cursors and ids, and product images through the
 * upload pipeline (type by bytes, admin only, old image removed).
 */
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Actors } from '../../../test/support/actors.js';
import type { TestContext } from '../../../test/support/app.js';
import { useCast } from '../../../test/support/cast-app.js';
import { imageUpload } from '../../../test/support/multipart.js';
import { createProduct } from '../../../test/support/shop.js';
import { codeOf } from '../../../test/support/tokens.js';

let ctx: TestContext;
let actors: Actors;

const SQL_STRINGS = [
  "'; DROP TABLE products; --",
  "' OR '1'='1",
  "Robert'); UPDATE products SET price_cents = 0;--",
  '$1',
  "\\'; SELECT pg_sleep(5); --",
];

useCast((c, a) => {
  ctx = c;
  actors = a;
});

const post = (payload: unknown) =>
  ctx.app.inject({
    method: 'POST',
    url: '/products',
    headers: actors.admin.headers,
    payload: payload as Record<string, unknown>,
  });

describe('product bodies', () => {
  it('refuse unknown fields, out-of-range, fractional and mistyped values (400)', async () => {
    const ok = { name: 'Valid', priceCents: 100, stock: 1 };
    const bodies = [
      { ...ok, id: randomUUID() },
      { ...ok, imageUrl: 'https://evil.example/x.png' },
      { ...ok, createdAt: '2000-01-01T00:00:00Z' },
      { ...ok, deletedAt: null },
      { ...ok, priceCents: -1 },
      { ...ok, priceCents: 10.5 },
      { ...ok, priceCents: 1_000_000_001 },
      { ...ok, priceCents: '100' },
      { ...ok, priceCents: 1e308 },
      { ...ok, stock: -1 },
      { ...ok, stock: 1_000_001 },
      { ...ok, stock: 0.5 },
      { ...ok, name: '' },
      { ...ok, name: '   ' },
      { ...ok, name: 'x'.repeat(201) },
      { ...ok, name: 'nul\u0000byte' },
      { ...ok, name: 'new\nline' },
      { ...ok, name: 'evil\u202Egnp.exe' },
      { ...ok, name: 'split\u2028line' },
      { ...ok, name: 'isolate\u2066x\u2069' },
      { ...ok, description: 'x'.repeat(5001) },
      { ...ok, description: 'bell\u0007' },
      { ...ok, description: 'line one\nevil\u202Egnp.exe' },
      { ...ok, description: 'isolate\u2067x\u2069' },
      { ...ok, description: 'lone \uD800 surrogate' },
      { ...ok, description: 'carriage\rreturn' },
      { ...ok, description: 'split\u2029paragraph' },
      { name: 'no price', stock: 1 },
    ];
    for (const body of bodies) {
      const res = await post(body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(codeOf(res)).toBe('validation_failed');
    }
    const patch = await ctx.app.inject({
      method: 'PATCH',
      url: `/products/${await createProduct(ctx.app, actors.admin.headers)}`,
      headers: actors.admin.headers,
      payload: {},
    });
    expect(patch.statusCode).toBe(400);
  });

  it('accept the bounds themselves', async () => {
    const res = await post({ name: 'x'.repeat(200), priceCents: 1_000_000_000, stock: 1_000_000 });
    expect(res.statusCode).toBe(201);
    const free = await post({ name: 'Free', priceCents: 0, stock: 0 });
    expect(free.statusCode).toBe(201);
    // Several lines and right-to-left text with its direction marks (U+200E/U+200F) are kept.
    const description = 'שלום עולם\u200E (v2)\nsecond line\n\nx'.padEnd(5000, 'x');
    const rtl = await post({ name: 'RTL', description, priceCents: 1, stock: 1 });
    expect(rtl.statusCode).toBe(201);
    expect(rtl.json().description).toBe(description);
  });

  it('store SQL strings verbatim in name and description; nothing else changes', async () => {
    for (const text of SQL_STRINGS) {
      const res = await post({ name: text, description: text, priceCents: 42, stock: 3 });
      expect(res.statusCode, text).toBe(201);
      const read = await ctx.app.inject({ method: 'GET', url: `/products/${res.json().id}` });
      expect(read.json()).toMatchObject({ name: text, description: text, priceCents: 42 });
      const patched = await ctx.app.inject({
        method: 'PATCH',
        url: `/products/${res.json().id}`,
        headers: actors.admin.headers,
        payload: { name: `${text} v2` },
      });
      expect(patched.json().name).toBe(`${text} v2`);
    }
    const list = await ctx.app.inject({ method: 'GET', url: '/products?limit=100' });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.every((p: { priceCents: number }) => p.priceCents >= 0)).toBe(true);
  });

  it('refuse hostile ids and cursors (400), unknown ids (404)', async () => {
    for (const url of [
      "/products/1' OR '1'='1",
      '/products/..%2F..%2Fetc%2Fpasswd',
      "/products?cursor=' OR 1=1 --",
      '/products?limit=-1',
      '/products?limit=101',
      '/products?sort=price',
    ]) {
      const res = await ctx.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
    }
    const missing = await ctx.app.inject({ method: 'GET', url: `/products/${randomUUID()}` });
    expect(missing.statusCode).toBe(404);
    expect(codeOf(missing)).toBe('not_found');
  });
});

describe('product images', () => {
  const png = () =>
    sharp({ create: { width: 8, height: 8, channels: 3, background: '#c0ffee' } })
      .png()
      .toBuffer();
  const put = (id: string, headers: Record<string, string>, data: Buffer) => {
    const upload = imageUpload(data);
    return ctx.app.inject({
      method: 'PUT',
      url: `/products/${id}/image`,
      headers: { ...headers, ...upload.headers },
      payload: upload.payload,
    });
  };

  it('an admin sets a re-encoded WebP image; replacing it removes the old file', async () => {
    const id = await createProduct(ctx.app, actors.admin.headers);
    const first = await put(id, actors.admin.headers, await png());
    expect(first.statusCode).toBe(200);
    const url = first.json().imageUrl as string;
    expect(url).toMatch(/^\/media\/[A-Za-z0-9_-]{43}\.webp$/);
    const media = await ctx.app.inject({ method: 'GET', url });
    expect(media.statusCode).toBe(200);
    expect(media.headers['content-type']).toContain('image/webp');
    const second = await put(id, actors.admin.headers, await png());
    expect(second.statusCode).toBe(200);
    expect(second.json().imageUrl).not.toBe(url);
    expect((await ctx.app.inject({ method: 'GET', url })).statusCode).toBe(404);
    const read = await ctx.app.inject({ method: 'GET', url: `/products/${id}` });
    expect(read.json().imageUrl).toBe(second.json().imageUrl);
  });

  it('refuses non-images (415), non-admins (403), deleted products (404)', async () => {
    const id = await createProduct(ctx.app, actors.admin.headers);
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    const fake = await put(id, actors.admin.headers, html);
    expect(fake.statusCode).toBe(415);
    expect(codeOf(fake)).toBe('unsupported_media_type');
    const user = await put(id, actors.user.headers, await png());
    expect(user.statusCode).toBe(403);
    await ctx.app.inject({
      method: 'DELETE',
      url: `/products/${id}`,
      headers: actors.admin.headers,
    });
    const gone = await put(id, actors.admin.headers, await png());
    expect(gone.statusCode).toBe(404);
    const json = await ctx.app.inject({
      method: 'PUT',
      url: `/products/${await createProduct(ctx.app, actors.admin.headers)}/image`,
      headers: actors.admin.headers,
      payload: { imageUrl: '/media/x.webp' },
    });
    expect(json.statusCode).toBe(415);
  });
});
