/**
 * Catalog admin writes are audited (issue 6): creating, editing, deleting a product and replacing
 * its image each commit with exactly one audit entry naming the admin, the action and the product,
 * or not at all: a write whose entry cannot be appended is rolled back (and a new image file is
 * removed again). Once committed, each is an `admin_action` security event.
 */
import type { LightMyRequestResponse } from 'fastify';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { expectProblem } from '../../../test/support/accounts.js';
import type { Actors } from '../../../test/support/actors.js';
import type { TestContext } from '../../../test/support/app.js';
import { withFailingAudit } from '../../../test/support/audit.js';
import { useCast } from '../../../test/support/cast-app.js';
import { imageUpload } from '../../../test/support/multipart.js';
import { createProduct } from '../../../test/support/shop.js';

let ctx: TestContext;
let actors: Actors;

/** The stored images (this file's own database), so those a failed upload leaves can be counted. */
async function mediaFiles(): Promise<string[]> {
  const rows = await ctx.database.db.selectFrom('media').select('name').orderBy('name').execute();
  return rows.map((r) => r.name);
}

useCast((c, a) => {
  ctx = c;
  actors = a;
});

const png = () =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: '#c0ffee' } })
    .png()
    .toBuffer();

function asAdmin(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  return ctx.app.inject({ method, url, headers: actors.admin.headers, payload });
}

async function putImage(id: string): Promise<LightMyRequestResponse> {
  const upload = imageUpload(await png());
  return ctx.app.inject({
    method: 'PUT',
    url: `/products/${id}/image`,
    headers: { ...actors.admin.headers, ...upload.headers },
    payload: upload.payload,
  });
}

/** The audit entries about product `id`, oldest first. */
async function trail(id: string) {
  const rows = await ctx.database.db
    .selectFrom('audit_log')
    .select(['actor_id', 'action', 'target_type', 'target_id', 'ip', 'detail'])
    .where('target_id', '=', id)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    actorId: r.actor_id,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    ip: r.ip,
    detail: r.detail,
  }));
}

/** The admin_action events about product `id`, oldest first, as the admin API lists them. */
async function adminActionsOn(id: string) {
  const res = await asAdmin('GET', '/admin/security-events?type=admin_action&limit=200');
  expect(res.statusCode, res.body).toBe(200);
  const items = res.json().items as {
    type: string;
    userId: string | null;
    detail: { action?: string; targetId?: string };
  }[];
  return items
    .filter((e) => e.detail.targetId === id)
    .map((e) => [e.userId, e.detail.action])
    .reverse();
}

async function expectChainIntact() {
  const verify = await asAdmin('GET', '/admin/audit/verify');
  expect(verify.statusCode, verify.body).toBe(200);
  expect(verify.json()).toMatchObject({ intact: true, firstBrokenId: null });
}

describe('catalog admin writes and their audit entries (issue 6)', () => {
  it('create, edit, image and delete each leave one entry naming the admin and the product', async () => {
    const created = await asAdmin('POST', '/products', {
      name: 'Audited lamp',
      priceCents: 1999,
      stock: 3,
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    const patched = await asAdmin('PATCH', `/products/${id}`, {
      name: 'Audited lamp II',
      priceCents: 2499,
      stock: 3,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const image = await putImage(id);
    expect(image.statusCode, image.body).toBe(200);
    const url = image.json().imageUrl as string;
    expect((await asAdmin('DELETE', `/products/${id}`)).statusCode).toBe(204);

    const who = { actorId: actors.admin.userId, targetType: 'product', targetId: id };
    const ip = expect.any(String);
    expect(await trail(id)).toEqual([
      {
        ...who,
        ip,
        action: 'shop.product.created',
        detail: { name: 'Audited lamp', priceCents: 1999, stock: 3 },
      },
      // Stock was sent unchanged: only what changed is named; price with old and new values.
      {
        ...who,
        ip,
        action: 'shop.product.updated',
        detail: { fields: ['name', 'priceCents'], priceCents: { from: 1999, to: 2499 } },
      },
      {
        ...who,
        ip,
        action: 'shop.product.image_replaced',
        detail: { from: null, to: url },
      },
      { ...who, ip, action: 'shop.product.deleted', detail: { name: 'Audited lamp II' } },
    ]);
    expect(new Set((await trail(id)).map((e) => e.ip))).toEqual(new Set(['127.0.0.1']));
    await expectChainIntact();
  });

  it('a stock change records old and new stock; a patch that changes nothing audits nothing', async () => {
    const id = await createProduct(ctx.app, actors.admin.headers, { stock: 10 });
    expect((await asAdmin('PATCH', `/products/${id}`, { stock: 4 })).statusCode).toBe(200);
    expect((await asAdmin('PATCH', `/products/${id}`, { stock: 4 })).statusCode).toBe(200);
    expect((await trail(id)).map((e) => [e.action, e.detail])).toEqual([
      ['shop.product.created', { name: 'Widget', priceCents: 500, stock: 10 }],
      ['shop.product.updated', { fields: ['stock'], stock: { from: 10, to: 4 } }],
    ]);
    expect(await adminActionsOn(id)).toHaveLength(2);
  });

  it('each admin write is an admin_action security event naming the admin and the product', async () => {
    const id = await createProduct(ctx.app, actors.admin.headers);
    expect((await asAdmin('PATCH', `/products/${id}`, { priceCents: 700 })).statusCode).toBe(200);
    expect((await putImage(id)).statusCode).toBe(200);
    expect((await asAdmin('DELETE', `/products/${id}`)).statusCode).toBe(204);
    const admin = actors.admin.userId;
    expect(await adminActionsOn(id)).toEqual([
      [admin, 'shop.product.created'],
      [admin, 'shop.product.updated'],
      [admin, 'shop.product.image_replaced'],
      [admin, 'shop.product.deleted'],
    ]);
  });

  it('when the entry cannot be written, no write happens: each answers 500 and the product is unchanged', async () => {
    const id = await createProduct(ctx.app, actors.admin.headers, { name: 'Kept' });
    expect((await putImage(id)).statusCode).toBe(200);
    const before = (await asAdmin('GET', `/products/${id}`)).json();
    const files = await mediaFiles();
    const ghost = `Never created ${id}`;

    await withFailingAudit(
      ctx.database.db,
      [
        'shop.product.created',
        'shop.product.updated',
        'shop.product.image_replaced',
        'shop.product.deleted',
      ],
      async () => {
        const create = await asAdmin('POST', '/products', { name: ghost, priceCents: 1, stock: 1 });
        expectProblem(create, 500, 'internal_error');
        const patch = await asAdmin('PATCH', `/products/${id}`, { priceCents: 1, stock: 0 });
        expectProblem(patch, 500, 'internal_error');
        expectProblem(await putImage(id), 500, 'internal_error');
        expectProblem(await asAdmin('DELETE', `/products/${id}`), 500, 'internal_error');
      },
    );

    const after = await asAdmin('GET', `/products/${id}`);
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual(before);
    expect((await ctx.app.inject({ method: 'GET', url: before.imageUrl })).statusCode).toBe(200);
    // The refused upload's file was removed again; the kept image is still there.
    expect(await mediaFiles()).toEqual(files);
    const ghosts = await ctx.database.db
      .selectFrom('products')
      .select('id')
      .where('name', '=', ghost)
      .execute();
    expect(ghosts).toEqual([]);
    expect((await trail(id)).map((e) => e.action)).toEqual([
      'shop.product.created',
      'shop.product.image_replaced',
    ]);
    expect((await adminActionsOn(id)).map(([, action]) => action)).toEqual([
      'shop.product.created',
      'shop.product.image_replaced',
    ]);
    await expectChainIntact();
  });
});
