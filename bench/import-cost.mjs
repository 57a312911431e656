/**
 * Memory cost of each heavy dependency, imported one after another in a fresh Node process
 * (issue 17): RSS, V8 heap used, external and array buffers after each step, after a full GC.
 * Steps that build something at boot (the zxcvbn dictionaries, prom-client's default metrics,
 * the whole app) are measured as their own step after the import.
 *
 *   npm run build && node --expose-gc bench/import-cost.mjs
 *
 * Plain JavaScript on purpose: under tsx the transpiler itself would be in every figure.
 */
const mb = (n) => (n / 1048576).toFixed(1);
let last = process.memoryUsage();
const rows = [];

function record(step) {
  globalThis.gc?.();
  const now = process.memoryUsage();
  rows.push(
    `| ${step} | ${mb(now.rss)} | +${mb(now.rss - last.rss)} | ${mb(now.heapUsed)} | ` +
      `+${mb(now.heapUsed - last.heapUsed)} | ${mb(now.external)} | ${mb(now.arrayBuffers)} |`,
  );
  last = now;
}

if (!globalThis.gc) process.stderr.write('run with --expose-gc for stable figures\n');
record('node itself');
const steps = [
  ['fastify', () => import('fastify')],
  ['zod', () => import('zod')],
  ['kysely + pg', () => Promise.all([import('kysely'), import('pg')])],
  ['ioredis', () => import('ioredis')],
  ['pino', () => import('pino')],
  ['prom-client (import)', () => import('prom-client')],
  [
    'prom-client collectDefaultMetrics',
    async () => {
      const { Registry, collectDefaultMetrics } = await import('prom-client');
      collectDefaultMetrics({ register: new Registry() });
    },
  ],
  ['sharp (import)', () => import('sharp')],
  ['@zxcvbn-ts/core', () => import('@zxcvbn-ts/core')],
  ['@zxcvbn-ts/language-common', () => import('@zxcvbn-ts/language-common')],
  ['@zxcvbn-ts/language-en', () => import('@zxcvbn-ts/language-en')],
  [
    'password policy built (dictionaries ranked)',
    async () => {
      const { createPasswordPolicy } = await import('../dist/src/auth/passwords/policy.js');
      globalThis.policy = await createPasswordPolicy({ minLength: 8 });
    },
  ],
  [
    'first password check',
    () => globalThis.policy.check('velvet-otter-drifts', { email: 'a@b.test', displayName: 'A' }),
  ],
  ['@fastify/swagger', () => import('@fastify/swagger')],
  ['@fastify/swagger-ui', () => import('@fastify/swagger-ui')],
  ['openid-client', () => import('openid-client')],
  ['arctic', () => import('arctic')],
  ['@simplewebauthn/server', () => import('@simplewebauthn/server')],
  ['stripe', () => import('stripe')],
  ['nodemailer', () => import('nodemailer')],
  ['sanitize-html', () => import('sanitize-html')],
  ['qrcode + otpauth', () => Promise.all([import('qrcode'), import('otpauth')])],
  ['@electric-sql/pglite (import only)', () => import('@electric-sql/pglite')],
  ['the app module graph (dist/src/app.js)', () => import('../dist/src/app.js')],
];
for (const [name, fn] of steps) {
  await fn();
  record(name);
}
process.stdout.write(
  `Node ${process.version}\n\n| step | RSS MB | ΔRSS | heap used MB | Δheap | external MB | array buffers MB |\n|---|---:|---:|---:|---:|---:|---:|\n${rows.join('\n')}\n`,
);
