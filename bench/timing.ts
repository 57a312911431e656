/**
 * `npm run bench:timing`: the timing statistics that used to be assertions in tests (issue 14,
 * the suite's own honesty). Tests prove the behaviour structurally (the same argon2 work for an
 * unknown email, no NFKC of an oversized password, refusals given while the only hash is held, a
 * probe answered by its own timeout); this prints how long things take, for a person to read on
 * a quiet machine. In-process, embedded PGlite and memory state (or DATABASE_URL / REDIS_URL, as
 * the tests choose), the real argon2id cost. Nothing here fails a build.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBlocklist } from '../src/auth/passwords/blocklist.js';
import { createPasswordPolicy } from '../src/auth/passwords/policy.js';
import { createTestApp } from '../test/support/app.js';
import { registerAndVerify, uniqueEmail } from '../test/support/auth.js';
import { startTestSmtp } from '../test/support/smtp.js';
import { median } from './lib/stats.js';

/** DESIGN.md's production cost (OWASP's argon2id minimum). */
const REAL_ARGON2 = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
const WRONG_PASSWORD = 'granite heron folds ten maps';
const SAMPLES = Number(process.argv[2] ?? 60);

const ms = (n: number) => `${n.toFixed(2)} ms`;
const rows: [string, string][] = [];
function report(what: string, value: string): void {
  rows.push([what, value]);
  console.log(`${what.padEnd(58)} ${value}`);
}

async function time<T>(work: () => Promise<T> | T): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

// 1. Login enumeration by timing: unknown email vs wrong password, interleaved.
const smtp = await startTestSmtp();
const ctx = await createTestApp({
  // The account limits raised (accountTestEnv in test/support, which imports vitest).
  env: {
    SMTP_URL: smtp.url,
    RATE_LIMIT_LOGIN_IP_FAILURES: '10000000',
    RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES: '1000',
  },
  deps: { argon2: REAL_ARGON2 },
});
try {
  const known = await registerAndVerify(ctx.app, smtp);
  const login = (email: string) =>
    time(async () => {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password: WRONG_PASSWORD },
      });
      if (res.statusCode !== 401) throw new Error(`login: ${res.statusCode} ${res.body}`);
    });
  for (let i = 0; i < 5; i++) {
    await login(known.email);
    await login(uniqueEmail('ghost'));
  }
  const unknown: number[] = [];
  const wrong: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    unknown.push(await login(uniqueEmail('ghost')));
    wrong.push(await login(known.email));
  }
  const [u, w] = [median(unknown), median(wrong)];
  report(`login, unknown email (median of ${SAMPLES})`, ms(u));
  report(`login, known email, wrong password (median of ${SAMPLES})`, ms(w));
  report(
    '  difference (AUTH-04 asks for < 10 %)',
    `${((Math.abs(u - w) / Math.min(u, w)) * 100).toFixed(1)} %`,
  );
} finally {
  await ctx.close();
  await smtp.close();
}

// 2. Hash admission: a burst of 10 logins against one slot and one waiter.
const burstApp = await createTestApp({
  env: { HASH_CONCURRENCY: '1', HASH_QUEUE: '1' },
  deps: { argon2: REAL_ARGON2 },
});
try {
  const refused: number[] = [];
  const hashed: number[] = [];
  for (let round = 0; round < 5; round++) {
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const started = performance.now();
        const res = await burstApp.app.inject({
          method: 'POST',
          url: '/auth/login',
          remoteAddress: `10.9.${round}.${i + 1}`,
          payload: { email: uniqueEmail('burst'), password: WRONG_PASSWORD },
        });
        (res.statusCode === 503 ? refused : hashed).push(performance.now() - started);
      }),
    );
  }
  report(
    `burst of 10 on 1 slot + 1 waiter: refused (${refused.length}), median`,
    ms(median(refused)),
  );
  report(`burst of 10 on 1 slot + 1 waiter: hashed (${hashed.length}), median`, ms(median(hashed)));
} finally {
  await burstApp.close();
}

// 3. Password policy: a 10 MB password is refused before any costly step.
const policy = await createPasswordPolicy({ minLength: 15 });
const huge = 'x'.repeat(10 * 1024 * 1024);
const policyTimes: number[] = [];
for (let i = 0; i < 20; i++) {
  policyTimes.push(
    await time(() => policy.check(huge, { email: 'a@example.test', displayName: 'A' })),
  );
}
report('policy.check of a 10 MB password (median of 20)', ms(median(policyTimes)));

// 4. Blocklist: 10,000 look-ups in a 50,000-entry list.
const dir = await mkdtemp(join(tmpdir(), 'bastion-timing-'));
try {
  const file = join(dir, 'list.txt');
  await writeFile(file, Array.from({ length: 50_000 }, (_, i) => `pw-${i}`).join('\n'));
  const list = await loadBlocklist(file);
  const lookups: number[] = [];
  for (let r = 0; r < 5; r++) {
    lookups.push(
      await time(() => {
        for (let i = 0; i < 10_000; i++) list.has(`pw-${i}`);
      }),
    );
  }
  report('blocklist: 10,000 look-ups in 50,000 entries (median of 5)', ms(median(lookups)));
} finally {
  await rm(dir, { recursive: true, force: true });
}

console.log('\n| measure | value |\n| --- | --- |');
for (const [what, value] of rows) console.log(`| ${what.trim()} | ${value} |`);
