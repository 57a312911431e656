/**
 * Bare minimal login server, the floor for `npm run bench:logins`: the least a password login can
 * do, so the benchmark can say what fraction of the raw argon2 verify rate even a minimal login
 * reaches on this machine, and how far Bastion is above that floor. Fastify 5 with default
 * options, logger off, one route, `POST /auth/login` with a JSON body `{email, password}`:
 * look up the stored hash (a Map, or with BENCH_DATABASE_URL one `SELECT` through a `pg` pool),
 * `argon2.verify` it (wrong: 401), store a new session with the SHA-256 of a 32-byte refresh
 * token (a Map, or one `INSERT`), sign a 15-minute EdDSA access token with jose, set the refresh
 * cookie and answer `{accessToken, expiresIn: 900}`.
 *
 * Deliberately absent, because this is the floor and not a usable server: no rate limiting, no
 * logging or audit, no validation library (a typeof check only), no dummy hash for unknown
 * emails (timing), no device cookies, lockout, MFA, CSRF or security headers.
 *
 * Env: BENCH_LOGIN_EMAIL and BENCH_LOGIN_PASSWORD (the one user, its password hashed once at
 * start), BENCH_ARGON2 (JSON `@node-rs/argon2` options: algorithm, memoryCost, timeCost,
 * parallelism), optional BENCH_DATABASE_URL (tables `bare_login_users` and
 * `bare_login_sessions`, created if missing, beside whatever else that database holds).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as argon2 from '@node-rs/argon2';
import Fastify from 'fastify';
import { generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';
import { announce, onStop } from '../lib/server.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`bare-login: ${name} is not set`);
  return value;
}

const email = required('BENCH_LOGIN_EMAIL');
const password = required('BENCH_LOGIN_PASSWORD');
const argon2Options = JSON.parse(required('BENCH_ARGON2')) as argon2.Options;
const databaseUrl = process.env.BENCH_DATABASE_URL || undefined;
const ACCESS_SECONDS = 900;

const app = Fastify();
const pool = databaseUrl ? new pg.Pool({ connectionString: databaseUrl }) : undefined;
onStop(async () => {
  await app.close();
  await pool?.end();
});

const passwordHash = await argon2.hash(password, argon2Options);
const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });

interface Session {
  readonly userId: string;
  readonly refreshHash: string;
  readonly createdAt: Date;
}
const users = new Map<string, { id: string; passwordHash: string }>();
const sessions = new Map<string, Session>();

if (pool) {
  await pool.query(
    'CREATE TABLE IF NOT EXISTS bare_login_users (id uuid PRIMARY KEY, email text UNIQUE, password_hash text)',
  );
  await pool.query(
    'CREATE TABLE IF NOT EXISTS bare_login_sessions (id uuid PRIMARY KEY, user_id uuid, refresh_hash text, created_at timestamptz)',
  );
  await pool.query(
    'INSERT INTO bare_login_users (id, email, password_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [randomUUID(), email, passwordHash],
  );
} else {
  users.set(email, { id: randomUUID(), passwordHash });
}

async function findUser(
  address: string,
): Promise<{ id: string; passwordHash: string } | undefined> {
  if (!pool) return users.get(address);
  const { rows } = await pool.query<{ id: string; password_hash: string }>(
    'SELECT id, password_hash FROM bare_login_users WHERE email = $1',
    [address],
  );
  const row = rows[0];
  return row ? { id: row.id, passwordHash: row.password_hash } : undefined;
}

async function storeSession(id: string, session: Session): Promise<void> {
  if (!pool) {
    sessions.set(id, session);
    return;
  }
  await pool.query(
    'INSERT INTO bare_login_sessions (id, user_id, refresh_hash, created_at) VALUES ($1, $2, $3, $4)',
    [id, session.userId, session.refreshHash, session.createdAt],
  );
}

app.post<{ Body: { email?: unknown; password?: unknown } }>(
  '/auth/login',
  async (request, reply) => {
    const body = request.body;
    if (typeof body?.email !== 'string' || typeof body.password !== 'string') {
      return reply.code(400).send({ error: 'email and password required' });
    }
    const user = await findUser(body.email);
    if (!user || !(await argon2.verify(user.passwordHash, body.password))) {
      return reply.code(401).send({ error: 'invalid credentials' });
    }
    const sid = randomUUID();
    const refresh = randomBytes(32).toString('base64url');
    await storeSession(sid, {
      userId: user.id,
      refreshHash: createHash('sha256').update(refresh).digest('hex'),
      createdAt: new Date(),
    });
    const accessToken = await new SignJWT({ sid })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime(`${ACCESS_SECONDS}s`)
      .sign(privateKey);
    reply.header('set-cookie', `refresh=${refresh}; HttpOnly; Secure; SameSite=Strict; Path=/auth`);
    return { accessToken, expiresIn: ACCESS_SECONDS };
  },
);

await app.listen({ host: '127.0.0.1', port: 0 });
announce((app.server.address() as { port: number }).port);
