/** Row types of the shop's tables (migrations/0005_shop.ts); part of the one `Database` interface. */
import type { ColumnType } from 'kysely';

// The shop's tables join the platform's `Database` from here: the platform never imports the shop.
declare module '../platform/db/schema.js' {
  interface Database extends ShopTables {}
}

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** `bigint` cents: parsed to a JS number by both drivers (amounts stay far below 2^53). */
type Cents = ColumnType<number, number, number>;

export interface ProductsTable {
  id: string;
  name: string;
  description: string;
  price_cents: Cents;
  stock: number;
  image_url: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Set by DELETE: the row stays so past orders keep their product. */
  deleted_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface WalletsTable {
  user_id: string;
  /** Cache of the sum of `wallet:<user_id>` ledger entries; changed only beside them. */
  balance_cents: Cents;
  updated_at: Timestamp;
}

export interface LedgerEntriesTable {
  id: string;
  transaction_id: string;
  /** `wallet:<userId>`, `external:stripe` or `shop:revenue`. */
  account: string;
  amount_cents: Cents;
  currency: string;
  kind: string;
  reference: string;
  created_at: Timestamp;
}

export interface OrdersTable {
  id: string;
  user_id: string;
  total_cents: Cents;
  currency: string;
  instructions: string | null;
  status: string;
  created_at: Timestamp;
}

export interface OrderItemsTable {
  order_id: string;
  product_id: string;
  position: number;
  quantity: number;
  unit_price_cents: Cents;
}

export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  request_hash: string;
  status: 'in_progress' | 'completed';
  claim: string;
  response_status: number | null;
  response_body: ColumnType<unknown, string | null, string | null>;
  created_at: Timestamp;
  completed_at: Timestamp | null;
}

export interface PaymentEventsTable {
  id: string;
  type: string;
  user_id: string | null;
  amount_cents: ColumnType<number | null, number | null, number | null>;
  currency: string | null;
  outcome: string;
  received_at: Timestamp;
}

export interface ShopTables {
  products: ProductsTable;
  wallets: WalletsTable;
  ledger_entries: LedgerEntriesTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  idempotency_keys: IdempotencyKeysTable;
  payment_events: PaymentEventsTable;
}
