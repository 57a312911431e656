/** Products (Kysely). A deleted product keeps its row; every read here skips it. */
import type { Selectable } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { ProductsTable } from '../shop.tables.js';
import type { ProductBody, ProductPatch } from './catalog.schemas.js';

export type Product = Selectable<ProductsTable>;

export async function insertProduct(
  db: Db,
  id: string,
  body: ProductBody,
  now: Date,
): Promise<Product> {
  return db
    .insertInto('products')
    .values({
      id,
      name: body.name,
      description: body.description ?? '',
      price_cents: body.priceCents,
      stock: body.stock,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findProduct(db: Db, id: string): Promise<Product | undefined> {
  return db
    .selectFrom('products')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** Live products in id order (uuidv7: creation order), after `cursor`. */
export function listProducts(db: Db, limit: number, cursor?: string): Promise<Product[]> {
  let q = db.selectFrom('products').selectAll().where('deleted_at', 'is', null);
  if (cursor) q = q.where('id', '>', cursor);
  return q.orderBy('id').limit(limit).execute();
}

export function updateProduct(
  db: Db,
  id: string,
  patch: ProductPatch,
  now: Date,
): Promise<Product | undefined> {
  return db
    .updateTable('products')
    .set({
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.description !== undefined && { description: patch.description }),
      ...(patch.priceCents !== undefined && { price_cents: patch.priceCents }),
      ...(patch.stock !== undefined && { stock: patch.stock }),
      updated_at: now,
    })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Soft delete; returns the image it had, for removal (or undefined: no such product). */
export function deleteProduct(
  db: Db,
  id: string,
  now: Date,
): Promise<{ image_url: string | null } | undefined> {
  return db.transaction().execute(async (trx) => {
    const old = await lockLive(trx, id);
    if (!old) return undefined;
    await trx
      .updateTable('products')
      .set({ deleted_at: now, updated_at: now, image_url: null })
      .where('id', '=', id)
      .execute();
    return old;
  });
}

function lockLive(trx: Db, id: string) {
  return trx
    .selectFrom('products')
    .select('image_url')
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
}

/** Sets the image; returns the product and the image it replaces (or undefined: no product). */
export async function replaceImage(
  db: Db,
  id: string,
  url: string,
  now: Date,
): Promise<{ product: Product; previous: string | null } | undefined> {
  return db.transaction().execute(async (trx) => {
    const old = await lockLive(trx, id);
    if (!old) return undefined;
    const product = await trx
      .updateTable('products')
      .set({ image_url: url, updated_at: now })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { product, previous: old.image_url };
  });
}
