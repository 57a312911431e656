/**
 * Catalog management. Each admin write and its audit entry commit in one transaction (neither
 * without the other); once committed, each is also an `admin_action` security event (issue 6).
 * Image replacement goes through the upload pipeline.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { uuidv7 } from 'uuidv7';
import type { Principal } from '../../access/policy.js';
import { type AuditChain, appendAudit } from '../../platform/audit/audit.store.js';
import type { Db } from '../../platform/db/database.js';
import { platformError } from '../../platform/errors.js';
import { readImageUpload } from '../../platform/media/upload.js';
import type { ShopDeps } from '../shop.deps.js';
import type { ProductBody, ProductPatch } from './catalog.schemas.js';
import {
  findLiveProductForUpdate,
  findProduct,
  insertProduct,
  type Product,
  setImage,
  softDeleteProduct,
  updateProduct,
} from './catalog.store.js';

type Deps = Pick<ShopDeps, 'db' | 'clock' | 'events' | 'audit'>;
type MediaDeps = Deps & Pick<ShopDeps, 'media' | 'imageDecodes'>;

/** The admin making the change, as the audit entry and the security event name them. */
export interface CatalogActor {
  readonly principal: Principal;
  readonly ip: string;
  readonly log: FastifyBaseLogger;
}

/** The public shape of a product (DESIGN.md, Shapes). */
export function productView(p: Product) {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    priceCents: Number(p.price_cents),
    stock: p.stock,
    imageUrl: p.image_url,
    createdAt: p.created_at.toISOString(),
  };
}

function audit(
  chain: AuditChain,
  trx: Db,
  by: CatalogActor,
  action: string,
  targetId: string,
  detail: Record<string, unknown>,
  now: Date,
): Promise<string> {
  const entry = { actorId: by.principal.userId, targetType: 'product', targetId, ip: by.ip };
  return appendAudit(chain, trx, { ...entry, action, detail }, now);
}

/** Raises `admin_action` for an audit entry that has committed. */
function recordAdminAction(deps: Deps, by: CatalogActor, action: string, targetId: string) {
  return deps.events.adminAction(
    by.log,
    { userId: by.principal.userId, ip: by.ip },
    action,
    targetId,
  );
}

export async function createProduct(
  deps: Deps,
  by: CatalogActor,
  body: ProductBody,
): Promise<Product> {
  const product = await deps.db.transaction().execute(async (trx) => {
    const now = new Date(deps.clock.now());
    const created = await insertProduct(trx, uuidv7(), body, now);
    const detail = { name: created.name, priceCents: body.priceCents, stock: body.stock };
    await audit(deps.audit, trx, by, 'shop.product.created', created.id, detail, now);
    return created;
  });
  await recordAdminAction(deps, by, 'shop.product.created', product.id);
  return product;
}

/** Which fields the patch changes; price and stock with their old and new values. */
function changesOf(before: Product, patch: ProductPatch) {
  const fields: string[] = [];
  const detail: Record<string, unknown> = {};
  if (patch.name !== undefined && patch.name !== before.name) fields.push('name');
  if (patch.description !== undefined && patch.description !== before.description) {
    fields.push('description');
  }
  const oldPrice = Number(before.price_cents);
  if (patch.priceCents !== undefined && patch.priceCents !== oldPrice) {
    fields.push('priceCents');
    detail.priceCents = { from: oldPrice, to: patch.priceCents };
  }
  if (patch.stock !== undefined && patch.stock !== before.stock) {
    fields.push('stock');
    detail.stock = { from: before.stock, to: patch.stock };
  }
  return { fields, ...detail };
}

/** Applies a patch; one that changes nothing writes, audits and raises nothing. */
export async function patchProduct(
  deps: Deps,
  by: CatalogActor,
  id: string,
  patch: ProductPatch,
): Promise<Product> {
  const { product, changed } = await deps.db.transaction().execute(async (trx) => {
    const now = new Date(deps.clock.now());
    const before = await findLiveProductForUpdate(trx, id);
    if (!before) throw platformError('not_found');
    const detail = changesOf(before, patch);
    if (detail.fields.length === 0) return { product: before, changed: false };
    const after = await updateProduct(trx, id, patch, now);
    if (!after) throw platformError('not_found');
    await audit(deps.audit, trx, by, 'shop.product.updated', id, detail, now);
    return { product: after, changed: true };
  });
  if (changed) await recordAdminAction(deps, by, 'shop.product.updated', id);
  return product;
}

/** Soft delete: orders keep pointing at the row; the catalog and new orders no longer see it. */
export async function removeProduct(deps: MediaDeps, by: CatalogActor, id: string): Promise<void> {
  const image = await deps.db.transaction().execute(async (trx) => {
    const now = new Date(deps.clock.now());
    const before = await findLiveProductForUpdate(trx, id);
    if (!before) throw platformError('not_found');
    await softDeleteProduct(trx, id, now);
    await audit(deps.audit, trx, by, 'shop.product.deleted', id, { name: before.name }, now);
    return before.image_url;
  });
  await recordAdminAction(deps, by, 'shop.product.deleted', id);
  await deps.media.remove(image);
}

/**
 * Reads, re-encodes and stores an uploaded image, then points the product at it (with its audit
 * entry, in one transaction) and removes the image it replaces. When the product was deleted
 * meanwhile (404) or the transaction fails, the new file is removed again.
 */
export async function setProductImage(
  deps: MediaDeps,
  by: CatalogActor,
  request: FastifyRequest,
  id: string,
) {
  if (!(await findProduct(deps.db, id))) throw platformError('not_found');
  const webp = await readImageUpload(request, deps.imageDecodes);
  const url = await deps.media.save(webp);
  const replaced = await deps.db
    .transaction()
    .execute(async (trx) => {
      const now = new Date(deps.clock.now());
      const before = await findLiveProductForUpdate(trx, id);
      if (!before) return undefined;
      const product = await setImage(trx, id, url, now);
      const detail = { from: before.image_url, to: url };
      await audit(deps.audit, trx, by, 'shop.product.image_replaced', id, detail, now);
      return { product, previous: before.image_url };
    })
    .catch(async (err: unknown) => {
      await deps.media.remove(url);
      throw err;
    });
  if (!replaced) {
    await deps.media.remove(url);
    throw platformError('not_found');
  }
  await recordAdminAction(deps, by, 'shop.product.image_replaced', id);
  await deps.media.remove(replaced.previous);
  return productView(replaced.product);
}
