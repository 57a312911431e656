/**
 * Forgot-password and registration told known addresses apart by their timing (issue 14, item 4:
 * 7.8 ms vs 3.7 ms median for forgot): the request looked the user up and, for a known one, made
 * a link token. Now the request does the same work for every address: one outbox row, identical
 * in shape, and the same database queries; a worker does the look-up, the token and the mail.
 * Proved structurally (the queries and rows), not with a clock: the timing statistic is in
 * bench/enumeration.ts.
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
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  insertUser,
  isMail,
  mailsTo,
  post,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { registerAndVerify, uniqueEmail } from '../../../test/support/auth.js';
import {
  openPostgresTestDatabase,
  openTestDatabase,
  postgresAdminUrl,
  type TestDatabase,
} from '../../../test/support/services.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';

/** The account tables: background jobs (key ring, revocations) touch none of them. */
const ACCOUNT_TABLES = new Set(['users', 'one_time_tokens', 'mail_outbox']);

/** Records every query as `kind:table` (e.g. `InsertQueryNode:mail_outbox`). */
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

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp();
});
afterAll(async () => {
  await smtp?.close();
});

describe('the request does the same work for known and unknown addresses (item 4)', () => {
  let ctx: TestContext;
  let database: TestDatabase;
  const recorder = new QueryRecorder();
  beforeAll(async () => {
    database = await openTestDatabase();
    ctx = await createTestApp({
      env: accountTestEnv(smtp),
      database,
      // No worker in this app: every query recorded is the request's own.
      deps: { db: database.db.withPlugin(recorder), mailOutboxWorker: false },
    });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    await database?.close();
  });

  async function recorded(url: string, payload: object): Promise<string[]> {
    recorder.take();
    const res = await ctx.app.inject({ method: 'POST', url, payload });
    expect(res.statusCode, res.body).toBe(202);
    return recorder.take();
  }

  async function outboxRows(emailKey: string) {
    return ctx.database.db
      .selectFrom('mail_outbox')
      .select(['kind', 'ref'])
      .where('email_key', '=', emailKey)
      .execute();
  }

  it('forgot-password: one identical outbox row and the same queries, known or not', async () => {
    const known = uniqueEmail('known');
    const unknown = uniqueEmail('unknown');
    await insertUser(ctx.database.db, { email: known, passwordHash: 'x' });
    const knownQueries = await recorded('/auth/password/forgot', { email: known });
    const unknownQueries = await recorded('/auth/password/forgot', { email: unknown });
    expect(knownQueries).toEqual(unknownQueries);
    // No look-up of the account on the request path.
    expect(knownQueries).toEqual(['InsertQueryNode:mail_outbox']);
    expect(await outboxRows(known)).toEqual([{ kind: 'password_reset', ref: null }]);
    expect(await outboxRows(unknown)).toEqual([{ kind: 'password_reset', ref: null }]);
  });

  it('register: the same queries for a new and a taken address, one row each', async () => {
    const taken = uniqueEmail('taken');
    await insertUser(ctx.database.db, { email: taken, passwordHash: 'x' });
    const fresh = uniqueEmail('fresh');
    const body = (email: string) => ({
      email,
      password: 'a long unguessable passphrase 42',
      displayName: 'Someone',
    });
    const takenQueries = await recorded('/auth/register', body(taken));
    const freshQueries = await recorded('/auth/register', body(fresh));
    expect(takenQueries).toEqual(freshQueries);
    expect(freshQueries).toEqual(['InsertQueryNode:users', 'InsertQueryNode:mail_outbox']);
    const [takenRow] = await outboxRows(taken);
    const [freshRow] = await outboxRows(fresh);
    expect(takenRow?.kind).toBe('registration');
    expect(freshRow?.kind).toBe('registration');
    expect(typeof takenRow?.ref).toBe(typeof freshRow?.ref);
  });
});

describe('the worker delivers the mail (real SMTP)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestApp({ env: accountTestEnv(smtp) });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
  });

  it('forgot for a known address: the reset mail arrives; for an unknown one the row goes, no mail', async () => {
    const { email } = await registerAndVerify(ctx.app, smtp);
    const unknown = uniqueEmail('nobody');
    expect((await post(ctx.app, '/auth/password/forgot', { email: unknown })).statusCode).toBe(202);
    expect((await post(ctx.app, '/auth/password/forgot', { email })).statusCode).toBe(202);
    await waitForAccountMail(smtp, email, 'reset');
    // Rows are taken oldest first: once the known one is sent, the unknown one was handled.
    await waitForEmptyOutbox(ctx.database);
    expect(smtp.messages.filter((m) => m.to.includes(unknown))).toEqual([]);
  });

  it('register for a taken address mails "someone tried to register", not a verification', async () => {
    const { email } = await registerAndVerify(ctx.app, smtp);
    await post(ctx.app, '/auth/register', {
      email,
      password: 'a long unguessable passphrase 42',
      displayName: 'Someone',
    });
    await waitForAccountMail(smtp, email, 'alreadyRegistered');
    await waitForEmptyOutbox(ctx.database);
    expect(mailsTo(smtp, email, 'verification')).toHaveLength(1);
  });
});

/** Waits (polling the table, the worker's own record of done work) until no row is left. */
async function waitForEmptyOutbox(database: TestDatabase, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await database.db
      .selectFrom('mail_outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    if (Number(row.n) === 0) return;
    if (Date.now() > deadline) throw new Error(`outbox still holds ${row.n} rows`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('two instances on one PostgreSQL database send each row once', () => {
  let database: TestDatabase;
  let a: TestContext;
  let b: TestContext;
  beforeAll(async () => {
    const adminUrl = await postgresAdminUrl();
    if (!adminUrl) return;
    database = await openPostgresTestDatabase(adminUrl);
    a = await createTestApp({ env: accountTestEnv(smtp), database });
    b = await createTestApp({ env: accountTestEnv(smtp), database, state: a.state });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.close();
  });

  it('30 reset requests through both apps: 30 mails, one per address', async (t) => {
    if (!database) t.skip();
    const emails = Array.from({ length: 30 }, () => uniqueEmail('twice'));
    for (const email of emails) {
      await insertUser(database.db, { email, passwordHash: 'x' });
    }
    await Promise.all(
      emails.map((email, i) => post(i % 2 ? a.app : b.app, '/auth/password/forgot', { email })),
    );
    await Promise.all(emails.map((email) => waitForAccountMail(smtp, email, 'reset')));
    await waitForEmptyOutbox(database);
    for (const email of emails) {
      expect(smtp.messages.filter((m) => m.to.includes(email) && isMail('reset')(m))).toHaveLength(
        1,
      );
    }
  });
});
