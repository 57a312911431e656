/** Orders and their items (Kysely). Ownership is part of every read query. */
import type { Selectable } from 'kysely';
import type { OwnerScope } from '../../access/ownership.js';
import type { Db } from '../../platform/db/database.js';
import type { OrdersTable } from '../shop.tables.js';
import type { OrderView } from './orders.schemas.js';

type OrderRow = Selectable<OrdersTable>;

export interface NewOrder {
  readonly id: string;
  readonly userId: string;
  readonly lines: readonly { productId: string; quantity: number; unitPriceCents: number }[];
  readonly totalCents: number;
  readonly currency: string;
  readonly instructions: string | null;
  readonly now: Date;
}

export async function insertOrder(trx: Db, o: NewOrder): Promise<void> {
  await trx
    .insertInto('orders')
    .values({
      id: o.id,
      user_id: o.userId,
      total_cents: o.totalCents,
      currency: o.currency,
      instructions: o.instructions,
      status: 'paid',
      created_at: o.now,
    })
    .execute();
  await trx
    .insertInto('order_items')
    .values(
      o.lines.map((l, position) => ({
        order_id: o.id,
        product_id: l.productId,
        position,
        quantity: l.quantity,
        unit_price_cents: l.unitPriceCents,
      })),
    )
    .execute();
}

/** The current prices of the live (not deleted) products among `ids`, read without a lock. */
export async function livePrices(trx: Db, ids: readonly string[]): Promise<Map<string, number>> {
  const rows = await trx
    .selectFrom('products')
    .select(['id', 'price_cents'])
    .where('id', 'in', ids)
    .where('deleted_at', 'is', null)
    .execute();
  return new Map(rows.map((r) => [r.id, Number(r.price_cents)]));
}

/**
 * Takes `quantity` from a live product's stock if, and only if, that much is left, and returns the
 * price it is sold at; the row stays locked until the transaction ends.
 */
export async function takeStock(
  trx: Db,
  productId: string,
  quantity: number,
): Promise<number | undefined> {
  const row = await trx
    .updateTable('products')
    .set((eb) => ({ stock: eb('stock', '-', quantity) }))
    .where('id', '=', productId)
    .where('deleted_at', 'is', null)
    .where('stock', '>=', quantity)
    .returning('price_cents')
    .executeTakeFirst();
  return row === undefined ? undefined : Number(row.price_cents);
}

async function withItems(db: Db, orders: OrderRow[]): Promise<OrderView[]> {
  if (orders.length === 0) return [];
  const items = await db
    .selectFrom('order_items')
    .select(['order_id', 'product_id', 'quantity', 'unit_price_cents'])
    .where(
      'order_id',
      'in',
      orders.map((o) => o.id),
    )
    .orderBy('order_id')
    .orderBy('position')
    .execute();
  return orders.map((o) => ({
    id: o.id,
    userId: o.user_id,
    items: items
      .filter((i) => i.order_id === o.id)
      .map((i) => ({
        productId: i.product_id,
        quantity: i.quantity,
        unitPriceCents: Number(i.unit_price_cents),
      })),
    totalCents: Number(o.total_cents),
    instructions: o.instructions,
    status: o.status,
    createdAt: o.created_at.toISOString(),
  }));
}

/** One order, if it lies in `scope` (someone else's is not found, like a missing one). */
export async function findOrder(
  db: Db,
  id: string,
  scope: OwnerScope,
): Promise<OrderView | undefined> {
  let q = db.selectFrom('orders').selectAll().where('id', '=', id);
  if (scope.userId !== null) q = q.where('user_id', '=', scope.userId);
  const row = await q.executeTakeFirst();
  return row ? (await withItems(db, [row]))[0] : undefined;
}

/** The orders in `scope`, newest first, after `cursor`. */
export async function listOrders(
  db: Db,
  scope: OwnerScope,
  limit: number,
  cursor?: string,
): Promise<OrderView[]> {
  let q = db.selectFrom('orders').selectAll();
  if (scope.userId !== null) q = q.where('user_id', '=', scope.userId);
  if (cursor) q = q.where('id', '<', cursor);
  return withItems(db, await q.orderBy('id', 'desc').limit(limit).execute());
}
