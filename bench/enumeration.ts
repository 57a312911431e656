/**
 * `npm run bench:enumeration [N] [--no-worker]`: can the answer time of forgot-password or
 * registration tell a registered address from an unknown one (issue 14, item 4)? Median and p90
 * of N requests per variant against one Bastion app in this process (`app.inject`, embedded
 * PGlite, the default argon2id cost, the outbox worker running as in production; `--no-worker`
 * turns it off), known and unknown interleaved, the order of each pair flipped every round.
 * Per-IP limits and the per-address mail caps are raised (all load is from one address) and said
 * so. The tests prove the same structurally (src/auth/accounts/mail-outbox.attack.test.ts); this
 * is the statistic.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { migrateToLatest, openDatabase } from '../src/platform/db/database.js';
import { createMemoryState } from '../src/platform/state/memory-state.js';
import { median } from './lib/stats.js';

const N = Number(process.argv[2] ?? 200);
/** `--no-worker`: the outbox worker off, to tell its background work from the request's own. */
const WORKER = !process.argv.includes('--no-worker');
const PASSWORD = 'velvet-otter-drifts-past-9-lanterns';

const dataDir = mkdtempSync(join(tmpdir(), 'bastion-enum-'));
process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
const raised = {
  RATE_LIMIT_GLOBAL_PER_MINUTE: '10000000',
  RATE_LIMIT_REGISTER_PER_HOUR: '10000000',
  RATE_LIMIT_FORGOT_PER_HOUR: '10000000',
  RATE_LIMIT_FORGOT_MAILS_PER_ACCOUNT_HOUR: '1000',
  RATE_LIMIT_REGISTER_MAILS_PER_ADDRESS_HOUR: '1000',
};
const config = loadConfig({
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  DATA_DIR: dataDir,
  KEY_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
  LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION: '0',
  ...raised,
});
const database = await openDatabase({ dataDir: 'memory' });
await migrateToLatest(database.db);
const app = await buildApp(config, {
  db: database.db,
  state: createMemoryState(),
  mailOutboxWorker: WORKER,
});
await app.ready();

const fresh = () => `enum-${randomBytes(6).toString('hex')}@example.test`;
async function post(url: string, payload: object): Promise<number> {
  const start = performance.now();
  const res = await app.inject({ method: 'POST', url, payload });
  const ms = performance.now() - start;
  if (res.statusCode !== 202) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  return ms;
}
const registerBody = (email: string) => ({ email, password: PASSWORD, displayName: 'Bench' });

// Known addresses: registered once before the measurement (never verified: it does not matter
// to either route).
const known: string[] = [];
for (let i = 0; i < 20; i++) {
  const email = fresh();
  await post('/auth/register', registerBody(email));
  known.push(email);
}
const pick = (i: number) => known[i % known.length] as string;

type Variant = 'known' | 'unknown';
async function measure(flow: 'forgot' | 'register'): Promise<Record<Variant, number[]>> {
  const out: Record<Variant, number[]> = { known: [], unknown: [] };
  for (let i = 0; i < 20; i++) {
    // Warm-up, not recorded.
    await post('/auth/password/forgot', { email: fresh() });
  }
  for (let i = 0; i < N; i++) {
    // The order flips every round: the first request of a pair is measurably slower on a busy
    // machine (a control run with two unknown variants showed 1.22), whatever it asks.
    const order = i % 2 === 0 ? (['known', 'unknown'] as const) : (['unknown', 'known'] as const);
    for (const variant of order) {
      const email = variant === 'known' ? pick(i) : fresh();
      out[variant].push(
        flow === 'forgot'
          ? await post('/auth/password/forgot', { email })
          : await post('/auth/register', registerBody(email)),
      );
    }
  }
  return out;
}

const p90 = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.9)];
const ms = (v: number | undefined) => `${(v ?? Number.NaN).toFixed(2)} ms`;
console.log(
  `bench:enumeration: N=${N} per variant, interleaved, outbox worker ${WORKER ? 'on' : 'off'}; raised: ${JSON.stringify(raised)}`,
);
console.log(
  '| flow | known median | unknown median | known p90 | unknown p90 | ratio of medians |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const flow of ['forgot', 'register'] as const) {
  const r = await measure(flow);
  const [k, u] = [median(r.known), median(r.unknown)];
  console.log(
    `| ${flow} | ${ms(k)} | ${ms(u)} | ${ms(p90(r.known))} | ${ms(p90(r.unknown))} | ${(k / u).toFixed(2)} |`,
  );
}
await app.close();
await database.close();
