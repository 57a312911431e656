/**
 * Attacks on `POST /auth/verify-email/resend` (issue 19).
 * - Enumeration: an unknown, a verified and an unverified address get the same status and body,
 *   and the request does the same work for each: the same database queries (one outbox insert,
 *   no look-up of the account) and one identical outbox row. Proved structurally, not by a clock
 *   (issue 14's approach for forgot-password and register).
 * - Mail flooding: verification mails to one address are capped per hour whichever IPs ask,
 *   counted alike for every address and shared with registration mails; requests are capped per
 *   IP (429 past the limit).
 */
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectRateLimited, randomIPv4 } from '../../../test/support/abuse.js';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  insertUser,
  MAIL_TIMEOUT_MS,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import { openTestDatabase, type TestDatabase } from '../../../test/support/services.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';

/** Every table a resend could touch to tell addresses apart; background jobs touch none. */
const ACCOUNT_TABLES = new Set(['users', 'one_time_tokens', 'mail_outbox', 'identities']);

/** Records every query on the account tables as `kind:table`. */
class QueryRecorder implements KyselyPlugin {
  seen: string[] = [];
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const tables = [
      ...JSON.stringify(args.node).matchAll(/"kind":"TableNode","table":\{[^}]*?"name":"(\w+)"/g),
    ].map((m) => m[1] ?? '');
    const touched = [...new Set(tables)].filter((t) => ACCOUNT_TABLES.has(t));
    if (touched.length > 0) this.seen.push(`${args.node.kind}:${touched.sort().join('+')}`);
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
  take(): string[] {
    const out = this.seen;
    this.seen = [];
    return out;
  }
}

const PER_ADDRESS = 2;
const PER_IP = 3;

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp();
});
afterAll(async () => {
  await smtp?.close();
});

function resend(ctx: TestContext, email: string, ip = randomIPv4()) {
  return ctx.app.inject({
    method: 'POST',
    url: '/auth/verify-email/resend',
    remoteAddress: ip,
    payload: { email },
  });
}

describe('without a worker: what the request itself does', () => {
  let ctx: TestContext;
  let database: TestDatabase;
  const recorder = new QueryRecorder();
  beforeAll(async () => {
    database = await openTestDatabase();
    ctx = await createTestApp({
      env: {
        ...accountTestEnv(smtp),
        RATE_LIMIT_REGISTER_MAILS_PER_ADDRESS_HOUR: String(PER_ADDRESS),
        RATE_LIMIT_FORGOT_PER_HOUR: String(PER_IP),
      },
      database,
      // No worker in this app: every query recorded is the request's own.
      deps: { db: database.db.withPlugin(recorder), mailOutboxWorker: false },
    });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    await database?.close();
  });

  const rowsFor = (email: string) =>
    ctx.database.db
      .selectFrom('mail_outbox')
      .select(['kind', 'ref'])
      .where('email_key', '=', email.toLowerCase())
      .execute();

  it('unknown, verified and unverified addresses: same answer, same queries, same row', async () => {
    const unknown = uniqueEmail('unknown');
    const verified = uniqueEmail('verified');
    const unverified = uniqueEmail('unverified');
    await insertUser(ctx.database.db, { email: verified, passwordHash: 'x' });
    await insertUser(ctx.database.db, { email: unverified, passwordHash: 'x', verified: false });

    const seen = [];
    for (const email of [unknown, verified, unverified]) {
      recorder.take();
      const res = await resend(ctx, email);
      seen.push({
        status: res.statusCode,
        body: res.body,
        type: res.headers['content-type'],
        queries: recorder.take(),
        rows: await rowsFor(email),
      });
    }
    expect(seen[0]).toEqual({
      status: 202,
      body: JSON.stringify({ status: 'verification_sent' }),
      type: 'application/json; charset=utf-8',
      // No look-up of the account and no token on the request path: one outbox insert.
      queries: ['InsertQueryNode:mail_outbox'],
      rows: [{ kind: 'verification_resend', ref: null }],
    });
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
  });

  it(`per address: ${PER_ADDRESS} rows an hour whichever IPs ask, known or not`, async () => {
    const unknown = uniqueEmail('flood-unknown');
    const unverified = uniqueEmail('flood-unverified');
    await insertUser(ctx.database.db, { email: unverified, passwordHash: 'x', verified: false });
    for (const email of [unknown, unverified]) {
      for (let i = 0; i < 5; i++) {
        const res = await resend(ctx, email);
        // The cap is silent: a 429 here would only tell the attacker about the cap.
        expect(res.statusCode).toBe(202);
        expect(res.json()).toEqual({ status: 'verification_sent' });
      }
    }
    expect(await rowsFor(unknown)).toHaveLength(PER_ADDRESS);
    expect(await rowsFor(unverified)).toHaveLength(PER_ADDRESS);
  });

  it('the per-address cap is shared with registration mails', async () => {
    const email = uniqueEmail('alternate');
    const register = await ctx.app.inject({
      method: 'POST',
      url: '/auth/register',
      remoteAddress: randomIPv4(),
      payload: { email, password: STRONG_PASSWORD, displayName: 'Flooded' },
    });
    expect(register.statusCode).toBe(202);
    for (let i = 0; i < 3; i++) expect((await resend(ctx, email)).statusCode).toBe(202);
    const rows = await rowsFor(email);
    expect(rows).toHaveLength(PER_ADDRESS);
    expect(rows.map((r) => r.kind).sort()).toEqual(['registration', 'verification_resend']);
  });

  it(`per IP: ${PER_IP} requests an hour, then 429 rate_limited, for any addresses`, async () => {
    const ip = randomIPv4();
    for (let i = 0; i < PER_IP; i++) {
      expect((await resend(ctx, uniqueEmail('from-one-ip'), ip)).statusCode).toBe(202);
    }
    const refused = uniqueEmail('refused');
    expectRateLimited(await resend(ctx, refused, ip), PER_IP);
    expect(await rowsFor(refused)).toEqual([]);
    // Another address from another IP is unaffected.
    expect((await resend(ctx, uniqueEmail('elsewhere'))).statusCode).toBe(202);
  });
});

describe('with the worker: mails actually sent', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestApp({
      env: {
        ...accountTestEnv(smtp),
        RATE_LIMIT_REGISTER_MAILS_PER_ADDRESS_HOUR: String(PER_ADDRESS),
      },
    });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
  });

  async function outboxDrained(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const row = await ctx.database.db
        .selectFrom('mail_outbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      if (Number(row.n) === 0) return;
      if (Date.now() > deadline) throw new Error(`outbox still holds ${row.n} rows`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it(`six resends from six IPs to an unverified address send ${PER_ADDRESS} mails`, async () => {
    const email = uniqueEmail('victim');
    await insertUser(ctx.database.db, { email, passwordHash: 'x', verified: false });
    for (let i = 0; i < 6; i++) expect((await resend(ctx, email)).statusCode).toBe(202);
    await smtp.waitForMail(
      email,
      (m) => m.subject === 'Confirm your email address',
      MAIL_TIMEOUT_MS,
    );
    await outboxDrained();
    expect(smtp.messages.filter((m) => m.to.includes(email))).toHaveLength(PER_ADDRESS);
  });
});
