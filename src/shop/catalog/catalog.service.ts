/** Catalog management: product views and image replacement through the upload pipeline. */
import type { FastifyRequest } from 'fastify';
import { platformError } from '../../platform/errors.js';
import type { ShopDeps } from '../shop.routes.js';
import { readImageUpload } from '../uploads/upload.js';
import { findProduct, type Product, replaceImage } from './catalog.store.js';

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

/**
 * Reads, re-encodes and stores an uploaded image, then points the product at it and removes the
 * image it replaces. A product deleted meanwhile gets 404 and the new file is removed again.
 */
export async function setProductImage(deps: ShopDeps, request: FastifyRequest, id: string) {
  if (!(await findProduct(deps.db, id))) throw platformError('not_found');
  const webp = await readImageUpload(request);
  const url = await deps.media.save(webp);
  const replaced = await replaceImage(deps.db, id, url, new Date(deps.clock.now())).catch(
    async (err: unknown) => {
      await deps.media.remove(url);
      throw err;
    },
  );
  if (!replaced) {
    await deps.media.remove(url);
    throw platformError('not_found');
  }
  await deps.media.remove(replaced.previous);
  return productView(replaced.product);
}
