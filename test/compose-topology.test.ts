/**
 * compose.yaml's topology, run without Docker (issue 17): what the file describes is what is
 * tested. On real PostgreSQL and Redis (whatever this run's DATABASE_URL says; under CI=true a
 * missing one fails the file): deploy/postgres/10-roles.sh makes the owner and app roles and the
 * database (names suffixed per run, secrets read from files as in /run/secrets), the `migrate`
 * service's command runs as the owner and the `grants` service's psql command grants the app role;
 * then TWO instances run the image's CMD (compiled JavaScript) with the instances' environment read
 * from compose.yaml (secrets as *_FILE), behind a loopback round-robin proxy that, like Caddy,
 * sets X-Forwarded-For/-Proto/-Host and dials from its own address, the only one in TRUST_PROXY.
 * A user registers, verifies from the mail, logs in and refreshes through the proxy, served by both
 * instances; a logout on one is honoured by the other; SIGTERM stops both and frees their ports.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { STRONG_PASSWORD, uniqueEmail } from './support/auth.js';
import {
  type Answer,
  buildDistIfStale,
  type Instance,
  imageEnv,
  portIsFree,
  ROOT,
  request,
  sleep,
  startInstance,
} from './support/instances.js';
import { postgresAdminUrl, redisUrl } from './support/services.js';
import { extractLink, startTestSmtp, type TestSmtp } from './support/smtp.js';

// Real services whatever DATABASE_URL/REDIS_URL say; under CI=true a missing one throws here.
const PG_URL = (await postgresAdminUrl()) as string;
const REDIS_BASE_URL = (await redisUrl()) as string;

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
}
const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const service = (name: string): ComposeService => {
  const s = compose.services[name];
  if (!s) throw new Error(`compose.yaml has no ${name} service`);
  return s;
};

/** Caddy's stand-in dials the instances from this loopback address; only it is trusted. */
const PROXY_ADDRESS = '127.0.0.2';
/** Where compose's settings differ here, and why. Everything else is taken as the file says. */
const HERE: Record<string, string> = {
  HOST: '127.0.0.1', // the container listens on its own network; here, loopback only
  PORT: '0', // two instances on one host: the kernel picks each port
  TRUST_PROXY: PROXY_ADDRESS, // the proxy's address, as compose names Caddy's
};
/** Settings this machine needs that compose does not set (none is a secret). */
const TEST_ONLY: Record<string, string> = {
  // Two cores shared with other test files: shedding would rightly answer 503 to readiness.
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
  LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0',
};

const suffix = randomBytes(4).toString('hex');
const OWNER = `bastion_owner_${suffix}`;
const APP = `bastion_app_${suffix}`;
const DB = `bastion_compose_${suffix}`;
/** A Redis database of its own (compose's Redis is fresh too); keys use the default prefix. */
const REDIS_DB = 11;

const work = mkdtempSync(join(tmpdir(), 'bastion-compose-'));
const secretsDir = join(work, 'secrets');

/** Renames the roles and the database of a deploy/ file for this run, and re-roots /run/secrets. */
function forThisRun(text: string): string {
  return text
    .replaceAll('/run/secrets/', `${secretsDir}/`)
    .replace(/\bbastion_owner\b/g, OWNER)
    .replace(/\bbastion_app\b/g, APP)
    .replace(/(CREATE DATABASE |\\c |-d )bastion\b/g, `$1${DB}`);
}

const pgAdmin = new URL(PG_URL);
/** libpq's environment for the superuser, as the postgres image's init scripts have it. */
const libpq = {
  PGHOST: pgAdmin.hostname,
  PGPORT: pgAdmin.port || '5432',
  POSTGRES_USER: decodeURIComponent(pgAdmin.username) || 'postgres',
  ...(pgAdmin.password ? { PGPASSWORD: decodeURIComponent(pgAdmin.password) } : {}),
};

function dbUrl(role: string, password: string): string {
  const url = new URL(PG_URL);
  url.username = role;
  url.password = password;
  url.pathname = `/${DB}`;
  return url.toString();
}

const ownerPassword = `owner-${randomBytes(12).toString('hex')}`;
const appPassword = `app-${randomBytes(12).toString('hex')}`;

/** Writes compose's secrets as files, as `docs/deploy.md` has the operator create them. */
function writeSecrets(smtp: TestSmtp): void {
  mkdirSync(secretsDir, { mode: 0o700 });
  const redis = new URL(REDIS_BASE_URL);
  redis.pathname = `/${REDIS_DB}`;
  const secrets: Record<string, string> = {
    db_owner_password: ownerPassword,
    db_app_password: appPassword,
    owner_database_url: dbUrl(OWNER, ownerPassword),
    app_database_url: dbUrl(APP, appPassword),
    redis_url: redis.toString(),
    smtp_url: smtp.url,
    key_encryption_key: randomBytes(32).toString('base64'),
    metrics_token: randomBytes(32).toString('hex'),
  };
  for (const [name, value] of Object.entries(secrets))
    writeFileSync(join(secretsDir, name), `${value}\n`, { mode: 0o600 });
}

/** A service's environment from compose.yaml over the image's ENV, for this machine. */
function serviceEnv(name: string, dataDir: string): Record<string, string> {
  const env: Record<string, string> = { ...imageEnv(), DATA_DIR: dataDir };
  for (const [key, value] of Object.entries(service(name).environment ?? {})) {
    if (key in HERE) env[key] = HERE[key] as string;
    else if (value.startsWith('/run/secrets/')) env[key] = join(secretsDir, basename(value));
    else env[key] = value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1'); // ${VAR:-default}, unset here
  }
  return { ...env, ...TEST_ONLY };
}

function sh(script: string, env: Record<string, string> = {}) {
  const run = spawnSync('sh', ['-c', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...libpq, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (run.status !== 0)
    throw new Error(`failed (${run.status}): ${script}\n${run.stdout}${run.stderr}`);
  return run.stdout + run.stderr;
}

async function superuser<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

interface Proxy {
  readonly port: number;
  /** Sends every request to this instance until unset (a sticky test step); else round robin. */
  pin: string | undefined;
  close(): Promise<void>;
}

/**
 * Caddy's part, on loopback: round robin over the upstreams, the client's X-Forwarded-* replaced
 * by its own (client address, https since it terminated TLS, the Host asked for), dialling from
 * PROXY_ADDRESS. Each answer says which instance served it (`x-served-by`, added here).
 */
async function startProxy(upstreams: Instance[]): Promise<Proxy> {
  const agent = new http.Agent({ keepAlive: true, localAddress: PROXY_ADDRESS });
  let turn = 0;
  const state: { pin: string | undefined } = { pin: undefined };
  const server = http.createServer((req, res) => {
    const target = state.pin
      ? upstreams.find((u) => u.name === state.pin)
      : upstreams[turn++ % upstreams.length];
    if (!target) throw new Error(`no upstream ${state.pin}`);
    const headers = { ...req.headers };
    for (const h of Object.keys(headers)) if (h.startsWith('x-forwarded-')) delete headers[h];
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    headers['x-forwarded-proto'] = 'https';
    headers['x-forwarded-host'] = req.headers.host ?? '';
    const upstream = http.request(
      { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-served-by': target.name });
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get pin() {
      return state.pin;
    },
    set pin(name) {
      state.pin = name;
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A client's cookies, replaced by name as a browser keeps them; expired ones dropped. */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(answer: Answer): void {
    for (const line of [answer.headers['set-cookie'] ?? []].flat()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; ');
  }
  names(): string[] {
    return [...this.cookies.keys()];
  }
}

// One deployment's life, in order: the last step stops both instances, so CI's shuffled order
// must not run it first.
describe('compose topology without Docker: PostgreSQL roles, Redis, two instances, a proxy', {
  shuffle: false,
}, () => {
  let smtp: TestSmtp;
  const instances: Instance[] = [];
  let proxy: Proxy;
  let migrateOutput = '';
  let grantsOutput = '';
  const jar = new CookieJar();

  const via = (
    method: string,
    path: string,
    init: { headers?: Record<string, string>; json?: unknown } = {},
  ) =>
    request(proxy.port, {
      method,
      path,
      headers: {
        host: 'localhost',
        ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
        ...(jar.header() ? { cookie: jar.header() } : {}),
        ...init.headers,
      },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
  const servedBy = (a: Answer) => a.headers['x-served-by'];

  beforeAll(async () => {
    buildDistIfStale();
    smtp = await startTestSmtp();
    writeSecrets(smtp);
    const redis = new Redis(REDIS_BASE_URL, { db: REDIS_DB, lazyConnect: true });
    await redis.connect();
    await redis.flushdb(); // a fresh Redis, as compose's first start has
    redis.disconnect();

    // postgres: its init script, as the superuser (docker-entrypoint-initdb.d).
    const rolesScript = join(work, '10-roles.sh');
    writeFileSync(
      rolesScript,
      forThisRun(readFileSync(join(ROOT, 'deploy/postgres/10-roles.sh'), 'utf8')),
    );
    sh(`sh ${rolesScript}`);

    // migrate: the service's command and environment (DATABASE_URL_FILE = the owner's URL).
    const migrate = service('migrate');
    const [cmd, ...args] = migrate.command ?? [];
    expect(cmd).toBe('node');
    migrateOutput = sh(`"${process.execPath}" ${args.join(' ')}`, serviceEnv('migrate', work));

    // grants: the service's psql command as the owner, on deploy/postgres/grants.sql.
    const grantsSql = join(work, 'grants.sql');
    writeFileSync(
      grantsSql,
      forThisRun(readFileSync(join(ROOT, 'deploy/postgres/grants.sql'), 'utf8')),
    );
    const grantsCommand = forThisRun(service('grants').command?.[0] ?? '')
      .replace('-h postgres', `-h ${libpq.PGHOST} -p ${libpq.PGPORT}`)
      .replace('/grants.sql', grantsSql)
      .replaceAll('$$', '$');
    grantsOutput = sh(grantsCommand);

    // bastion-a and bastion-b: the image's CMD with each service's environment.
    const ready = (port: number) =>
      request(port, {
        path: '/health/ready',
        localAddress: PROXY_ADDRESS,
        headers: { 'x-forwarded-proto': 'https' },
      }).then(
        (a) => a.status === 200,
        () => false,
      );
    const started = await Promise.all(
      ['bastion-a', 'bastion-b'].map((name) => {
        const dataDir = join(work, name);
        mkdirSync(dataDir);
        return startInstance(name, { env: serviceEnv(name, dataDir), ready });
      }),
    );
    instances.push(...started);
    proxy = await startProxy(instances);
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    for (const i of instances) i.kill();
    await smtp?.close();
    await superuser('postgres', async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${APP}`);
      await c.query(`DROP ROLE IF EXISTS ${OWNER}`);
    });
    rmSync(work, { recursive: true, force: true });
  });

  it('runs every setting compose gives the instances, and nothing secret outside a file', () => {
    for (const name of ['bastion-a', 'bastion-b']) {
      const env = serviceEnv(name, '/data');
      const composeNames = Object.keys(service(name).environment ?? {});
      const imageNames = Object.keys(imageEnv());
      expect(Object.keys(env).sort()).toEqual(
        [...new Set([...imageNames, ...composeNames, ...Object.keys(TEST_ONLY)])].sort(),
      );
      // Only the settings HERE names differ from the file; every secret is a file's path.
      for (const key of composeNames) {
        const value = service(name).environment?.[key] as string;
        if (key in HERE) expect(env[key]).toBe(HERE[key]);
        else if (key.endsWith('_FILE')) expect(env[key]).toBe(join(secretsDir, basename(value)));
        else expect(value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')).toBe(env[key]);
      }
      // Each secret the service mounts is a file this run wrote.
      for (const secret of service(name).secrets ?? [])
        expect(readFileSync(join(secretsDir, secret), 'utf8').length).toBeGreaterThan(1);
    }
    for (const output of [migrateOutput, grantsOutput]) {
      expect(output).not.toContain(ownerPassword);
      expect(output).not.toContain(appPassword);
    }
    expect(grantsOutput).toMatch(/GRANT/);
  });

  it('the instances connect as the app role, which owns nothing; the owner owns the tables', async () => {
    const roles = await superuser(DB, async (c) => {
      const sessions = await c.query<{ usename: string }>(
        'SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [DB],
      );
      const owners = await c.query<{ tableowner: string }>(
        `SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`,
      );
      return { sessions: sessions.rows, owners: owners.rows };
    });
    expect(roles).toEqual({ sessions: [{ usename: APP }], owners: [{ tableowner: OWNER }] });
  });

  it('refuses X-Forwarded-Proto from anyone but the proxy: a direct POST is https_required', async () => {
    const direct = await request(instances[0]?.port as number, {
      method: 'POST',
      path: '/auth/login',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-proto': 'https',
        'x-forwarded-for': '203.0.113.7',
      },
      body: JSON.stringify({ email: uniqueEmail(), password: STRONG_PASSWORD }),
    });
    expect(direct.status).toBe(403);
    expect(JSON.parse(direct.body).code).toBe('https_required');
  });

  it('register → verify → login → refresh on both instances → logout on one ends it on the other', async () => {
    const email = uniqueEmail('compose');
    const password = STRONG_PASSWORD;
    const registered = await via('POST', '/auth/register', {
      json: { email, password, displayName: 'Compose User' },
    });
    expect(registered.status, registered.body).toBe(202);
    const mail = await smtp.waitForMail(email, (m) => m.subject.includes('Confirm'), 20_000);
    const link = extractLink(mail, '/verify-email');
    expect(link.origin).toBe('https://localhost');
    const verified = await via('POST', '/auth/verify-email', {
      json: { token: link.searchParams.get('token'), password },
    });
    expect(verified.status, verified.body).toBe(200);
    jar.take(verified);

    const loggedIn = await via('POST', '/auth/login', { json: { email, password } });
    expect(loggedIn.status, loggedIn.body).toBe(200);
    jar.take(loggedIn);
    expect(jar.names()).toContain('__Host-bastion_refresh'); // Secure cookies: https via the proxy
    let { accessToken, csrfToken } = JSON.parse(loggedIn.body) as {
      accessToken: string;
      csrfToken: string;
    };
    const served = new Set([servedBy(registered), servedBy(verified), servedBy(loggedIn)]);

    // Rotations alternate between the instances: each accepts the token the other issued.
    for (let i = 0; i < 4; i++) {
      const refreshed = await via('POST', '/auth/refresh', {
        headers: { 'x-csrf-token': csrfToken },
      });
      expect(refreshed.status, refreshed.body).toBe(200);
      jar.take(refreshed);
      ({ accessToken, csrfToken } = JSON.parse(refreshed.body));
      const me = await via('GET', '/auth/me', {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(me.status, me.body).toBe(200);
      expect(JSON.parse(me.body).user.email).toBe(email);
      served.add(servedBy(refreshed)).add(servedBy(me));
    }
    expect([...served].sort()).toEqual(['bastion-a', 'bastion-b']);

    // The session shows the client's address the proxy forwarded (127.0.0.1), not the proxy's.
    const sessions = await via('GET', '/auth/sessions', {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(sessions.status, sessions.body).toBe(200);
    expect(JSON.parse(sessions.body).items.map((s: { ip: string }) => s.ip)).toEqual(['127.0.0.1']);

    proxy.pin = 'bastion-a';
    const out = await via('POST', '/auth/logout', {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(out.status, out.body).toBe(204);

    proxy.pin = 'bastion-b';
    // The refresh token is checked in the database: refused at once.
    const refreshAfter = await via('POST', '/auth/refresh', {
      headers: { 'x-csrf-token': csrfToken },
    });
    expect(servedBy(refreshAfter)).toBe('bastion-b');
    expect(refreshAfter.status, refreshAfter.body).toBe(401);
    // The access token: B learns of the revocation through Redis pub/sub (DESIGN: within 1 s).
    let me: Answer | undefined;
    for (const until = Date.now() + 5_000; Date.now() < until; await sleep(100)) {
      me = await via('GET', '/auth/me', { headers: { authorization: `Bearer ${accessToken}` } });
      if (me.status !== 200) break;
    }
    expect(servedBy(me as Answer)).toBe('bastion-b');
    expect(me?.status, me?.body).toBe(401);
    proxy.pin = undefined;
  });

  it('SIGTERM stops both instances cleanly and frees their ports', async () => {
    await proxy.close();
    const codes = await Promise.all(instances.map((i) => i.stop('SIGTERM')));
    expect(codes).toEqual([0, 0]);
    for (const i of instances) {
      expect(await portIsFree(i.port)).toBe(true);
      expect(i.output()).toContain('"signal":"SIGTERM"');
    }
  });
});
