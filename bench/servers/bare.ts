/**
 * (A) Bare Fastify 5: default options, logger off, `GET /health/live`. With BENCH_DATABASE_URL
 * set, also `GET /users/:id`: one `SELECT ... FROM users WHERE id = $1` through a `pg` pool on
 * the same database as Bastion, the row returned as JSON (the baseline of `GET /auth/me`).
 */
import Fastify from 'fastify';
import pg from 'pg';
import { createRenderer } from '../../src/web/render.js';
import { announce, onStop } from '../lib/server.js';

const app = Fastify();
const databaseUrl = process.env.BENCH_DATABASE_URL;
const pool = databaseUrl ? new pg.Pool({ connectionString: databaseUrl }) : undefined;
onStop(async () => {
  await app.close();
  await pool?.end();
});
app.get('/health/live', async () => ({ status: 'ok' }));
// The baseline of `GET /login`: the same page, rendered once at start and sent as fixed bytes.
const loginPage = createRenderer()('login', {
  title: 'Sign in',
  csrf: 'x'.repeat(43),
  returnTo: '/account',
  email: '',
});
app.get('/login', async (_request, reply) =>
  reply.type('text/html; charset=utf-8').send(loginPage),
);
if (pool) {
  app.get<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
    const { rows } = await pool.query(
      'SELECT id, email, display_name, roles, email_verified_at, mfa_enabled, locked, created_at, avatar_url FROM users WHERE id = $1',
      [request.params.id],
    );
    if (rows.length === 0) return reply.code(404).send({ error: 'not found' });
    return rows[0];
  });
}
await app.listen({ host: '127.0.0.1', port: 0 });
announce((app.server.address() as { port: number }).port);
