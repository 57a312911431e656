/**
 * Placing an order: one database transaction that takes stock with conditional updates (in
 * product-id order, so concurrent orders never deadlock), debits the wallet conditionally,
 * writes the order, its ledger entries and the idempotency key's stored response.
 */
import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { uuidv7 } from 'uuidv7';
import { AppError } from '../../platform/errors.js';
import type { ShopDeps } from '../shop.deps.js';
import { debit, SHOP_REVENUE } from '../wallet/wallet.store.js';
import {
  claimKey,
  completeKey,
  findKey,
  releaseKey,
  takeOverStaleKey,
} from './idempotency.store.js';
import { type OrderErrorCode, orderError } from './orders.errors.js';
import type { OrderBody, OrderView } from './orders.schemas.js';
import { insertOrder, livePrices, takeStock } from './orders.store.js';

/** An attempt in progress for longer than this is taken to have died with its process. */
export const STALE_ATTEMPT_MS = 5 * 60_000;

export interface OrderResult {
  readonly status: number;
  readonly order: OrderView;
  /** True when this is the stored response of an earlier request with the same key. */
  readonly replayed: boolean;
}

/** SHA-256 of the body with object keys sorted (array order kept: it is the order's order). */
export function requestHash(body: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(body)))
    .digest('hex');
}

/** Refusals that are the order's answer (stored and replayed), not a failure to answer. */
const STORED_REFUSALS: ReadonlySet<string> = new Set<OrderErrorCode>([
  'insufficient_funds',
  'out_of_stock',
  'unknown_product',
]);

function isStoredRefusal(err: unknown): err is AppError {
  return err instanceof AppError && STORED_REFUSALS.has(err.code);
}

/** A price changed between the read and the stock update: the transaction is run again. */
class PriceChanged extends Error {}

const PRICE_RETRIES = 3;

/**
 * The order's transaction. The stock updates come last, just before the commit: a popular
 * product's row lock is then held for one statement and the commit, not for the whole
 * transaction. Lock order is the same everywhere (the buyer's wallet, then products by id), so
 * concurrent orders and credits never deadlock. Prices are read first without a lock and
 * checked again by the locking UPDATE; a change in between runs the transaction again.
 */
async function place(
  deps: ShopDeps,
  userId: string,
  body: OrderBody,
  key: Claim,
): Promise<OrderView> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await placeOnce(deps, userId, body, key);
    } catch (err) {
      if (!(err instanceof PriceChanged) || attempt >= PRICE_RETRIES) throw err;
    }
  }
}

async function placeOnce(
  deps: ShopDeps,
  userId: string,
  body: OrderBody,
  key: Claim,
): Promise<OrderView> {
  const now = new Date(deps.clock.now());
  const orderId = uuidv7();
  const ids = body.items.map((i) => i.productId.toLowerCase());
  return deps.db.transaction().execute(async (trx) => {
    const prices = await livePrices(trx, ids);
    if (prices.size !== ids.length) throw orderError('unknown_product');
    const priced = body.items.map((i, n) => ({
      productId: ids[n] as string,
      quantity: i.quantity,
      unitPriceCents: prices.get(ids[n] as string) ?? 0,
    }));
    const totalCents = priced.reduce((sum, l) => sum + l.unitPriceCents * l.quantity, 0);
    if (totalCents > 0) {
      const paid = await debit(trx, {
        userId,
        counterparty: SHOP_REVENUE,
        amountCents: -totalCents,
        currency: deps.config.currency,
        kind: 'purchase',
        reference: orderId,
        now,
      });
      if (!paid) throw orderError('insufficient_funds');
    }
    const instructions = body.instructions ?? null;
    const currency = deps.config.currency;
    await insertOrder(trx, {
      id: orderId,
      userId,
      lines: priced,
      totalCents,
      currency,
      instructions,
      now,
    });
    const view: OrderView = {
      id: orderId,
      userId,
      items: priced,
      totalCents,
      instructions,
      status: 'paid',
      createdAt: now.toISOString(),
    };
    // Committed with the order, or not at all: a stored response always names a real order.
    if (!(await completeKey(trx, { ...key, now }, 201, view))) {
      throw orderError('idempotency_request_in_progress');
    }
    for (const line of [...priced].sort((a, b) => (a.productId < b.productId ? -1 : 1))) {
      const price = await takeStock(trx, line.productId, line.quantity);
      if (price === undefined) {
        const stillLive = (await livePrices(trx, [line.productId])).size === 1;
        throw orderError(stillLive ? 'out_of_stock' : 'unknown_product');
      }
      if (price !== line.unitPriceCents) throw new PriceChanged();
    }
    return view;
  });
}

interface Claim {
  readonly userId: string;
  readonly key: string;
  readonly claim: string;
}

/** What a key already holds: its stored response, or an error for the caller. */
async function existing(
  deps: ShopDeps,
  c: Claim,
  hash: string,
): Promise<OrderResult | 'retry' | 'taken_over'> {
  const row = await findKey(deps.db, c.userId, c.key);
  if (!row) return 'retry'; // released by a failed attempt a moment ago
  if (row.request_hash !== hash) throw orderError('idempotency_key_reused');
  if (row.status === 'completed') {
    const stored = row.response_body as OrderView | { code: OrderErrorCode };
    if ('code' in stored) throw orderError(stored.code);
    return { status: row.response_status ?? 201, order: stored, replayed: true };
  }
  const now = deps.clock.now();
  const staleBefore = new Date(now - STALE_ATTEMPT_MS);
  if (
    row.created_at < staleBefore &&
    (await takeOverStaleKey(deps.db, { ...c, now: new Date(now) }, staleBefore))
  ) {
    return 'taken_over';
  }
  throw orderError('idempotency_request_in_progress');
}

/**
 * Creates an order once per (user, Idempotency-Key). The same key and body return the first
 * response; a refused order (402, 409 out of stock, 422 unknown product) is stored too and
 * replayed, as Stripe does: a client retries a refusal with a new key. An unexpected failure
 * frees the key.
 */
export async function createOrder(
  deps: ShopDeps,
  log: FastifyBaseLogger,
  userId: string,
  key: string,
  body: OrderBody,
): Promise<OrderResult> {
  const hash = requestHash(body);
  const c: Claim = { userId, key, claim: uuidv7() };
  for (let attempt = 0; ; attempt++) {
    const now = new Date(deps.clock.now());
    if (await claimKey(deps.db, { ...c, hash, now })) break;
    const found = await existing(deps, c, hash);
    if (found === 'taken_over') break;
    if (found !== 'retry') return found;
    if (attempt >= 2) throw orderError('idempotency_request_in_progress');
  }
  try {
    return { status: 201, order: await place(deps, userId, body, c), replayed: false };
  } catch (err) {
    if (isStoredRefusal(err)) {
      const now = new Date(deps.clock.now());
      await completeKey(deps.db, { ...c, now }, err.status, { code: err.code });
      throw err;
    }
    await releaseKey(deps.db, c).catch((e: unknown) =>
      log.error({ err: e }, 'idempotency key release failed'),
    );
    throw err;
  }
}
