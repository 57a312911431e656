/**
 * (A) for `npm run bench:orders`: bare Fastify 5 (logger off) + a `pg` pool (10, as Bastion's)
 * doing the minimal equivalent of `POST /orders` on the same schema: the idempotency key in its
 * own statement, then one transaction with the price read, the conditional wallet update, the
 * ledger entries, the order and its item, the key's stored response and, last, the conditional
 * stock update (as Bastion orders it). No auth (the buyer is the
 * `x-user-id` header), no validation, no logging, no error handling beyond a status.
 */

import Fastify from 'fastify';
import pg from 'pg';
import { uuidv7 } from 'uuidv7';
import { announce, onStop } from '../lib/server.js';

pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
const pool = new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: 10 });
const app = Fastify();
onStop(async () => {
  await app.close();
  await pool.end();
});

interface Body {
  items: { productId: string; quantity: number }[];
}

app.post<{ Body: Body }>('/orders', async (request, reply) => {
  const userId = request.headers['x-user-id'] as string;
  const key = request.headers['idempotency-key'] as string;
  const line = request.body.items[0] as Body['items'][number];
  const now = new Date();
  const inserted = await pool.query(
    `INSERT INTO idempotency_keys (user_id, key, request_hash, status, claim, created_at)
     VALUES ($1, $2, $3, 'in_progress', $4, $5) ON CONFLICT DO NOTHING RETURNING key`,
    [userId, key, 'h', uuidv7(), now],
  );
  if (inserted.rowCount === 0) return reply.code(409).send({ code: 'in_progress' });
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // The same order of work as Bastion: price read, wallet, order, ledger, key, stock last.
    const product = await client.query(
      'SELECT price_cents FROM products WHERE id = $1 AND deleted_at IS NULL',
      [line.productId],
    );
    if (product.rowCount === 0) {
      await client.query('ROLLBACK');
      return reply.code(422).send({ code: 'unknown_product' });
    }
    const price = product.rows[0].price_cents;
    const total = price * line.quantity;
    const paid = await client.query(
      `UPDATE wallets SET balance_cents = balance_cents - $2, updated_at = $3
       WHERE user_id = $1 AND balance_cents >= $2 RETURNING balance_cents`,
      [userId, total, now],
    );
    if (paid.rowCount === 0) {
      await client.query('ROLLBACK');
      return reply.code(402).send({ code: 'insufficient_funds' });
    }
    const orderId = uuidv7();
    const tx = uuidv7();
    await client.query(
      `INSERT INTO ledger_entries (id, transaction_id, account, amount_cents, currency, kind, reference, created_at)
       VALUES ($1, $3, $4, $5, 'usd', 'purchase', $6, $7), ($2, $3, 'shop:revenue', $8, 'usd', 'purchase', $6, $7)`,
      [uuidv7(), uuidv7(), tx, `wallet:${userId}`, -total, orderId, now, total],
    );
    await client.query(
      `INSERT INTO orders (id, user_id, total_cents, currency, instructions, status, created_at)
       VALUES ($1, $2, $3, 'usd', NULL, 'paid', $4)`,
      [orderId, userId, total, now],
    );
    await client.query(
      `INSERT INTO order_items (order_id, product_id, position, quantity, unit_price_cents)
       VALUES ($1, $2, 0, $3, $4)`,
      [orderId, line.productId, line.quantity, price],
    );
    const order = {
      id: orderId,
      userId,
      items: [{ ...line, unitPriceCents: price }],
      totalCents: total,
    };
    await client.query(
      `UPDATE idempotency_keys SET status = 'completed', response_status = 201, response_body = $3,
       completed_at = $4 WHERE user_id = $1 AND key = $2`,
      [userId, key, JSON.stringify(order), now],
    );
    const stock = await client.query(
      `UPDATE products SET stock = stock - $2 WHERE id = $1 AND deleted_at IS NULL AND stock >= $2
       RETURNING price_cents`,
      [line.productId, line.quantity],
    );
    if (stock.rowCount === 0 || stock.rows[0].price_cents !== price) {
      await client.query('ROLLBACK');
      return reply.code(409).send({ code: 'out_of_stock' });
    }
    await client.query('COMMIT');
    return reply.code(201).send(order);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
});

await app.listen({ host: '127.0.0.1', port: 0 });
announce((app.server.address() as { port: number }).port);
