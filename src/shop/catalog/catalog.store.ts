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

/** The live product, locked until the transaction ends (its audit entry reads the old values). */
export function findLiveProductForUpdate(trx: Db, id: string): Promise<Product | undefined> {
  return trx
    .selectFrom('products')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
}

/** Soft delete of a product locked by `findLiveProductForUpdate`; its image goes with it. */
export async function softDeleteProduct(trx: Db, id: string, now: Date): Promise<void> {
  await trx
    .updateTable('products')
    .set({ deleted_at: now, updated_at: now, image_url: null })
    .where('id', '=', id)
    .execute();
}

/** Points a product locked by `findLiveProductForUpdate` at a new image. */
export function setImage(trx: Db, id: string, url: string, now: Date): Promise<Product> {
  return trx
    .updateTable('products')
    .set({ image_url: url, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}
