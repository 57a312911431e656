/** Row types of the shop's tables (migrations/0005_shop.ts); part of the one `Database` interface. */

// biome-ignore lint/suspicious/noEmptyInterface: filled by the shop's tables (issue 7)
export interface ShopTables {}
