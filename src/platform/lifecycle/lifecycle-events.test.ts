/**
 * Issue 19, lifecycle webhooks: every change wired to an event reaches a real receiver on
 * 127.0.0.1 (which checks the signature with the README's snippet) as `{id, type, at, userId,
 * data}`: register, verify, password change and reset, MFA on / new recovery codes / off, a
 * session revoked, logout everywhere, an admin's lock, unlock, roles, logout-all and delete, and
 * the CLI's `user create` (a child process writing to the database an app then delivers from).
 * Nothing secret rides in `data`, and administrators see each delivery's state.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { type Actor, createActor, createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, login, registerAndVerify } from '../../../test/support/auth.js';
import {
  FAST_DELIVERY,
  type LifecycleEventBody,
  type Receiver,
  runCli,
  startReceiver,
  until,
  WEBHOOK_SECRET,
} from '../../../test/support/lifecycle.js';
import { enrolTotp, freshCode } from '../../../test/support/mfa.js';
import {
  createPostgresDatabase,
  ENV_DATABASE_URL,
  type TestDatabase,
} from '../../../test/support/services.js';
import { extractLink, startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { manualClock } from '../clock.js';
import { type DatabaseHandle, migrateToLatest, openDatabase } from '../db/database.js';

const NEW_PASSWORD = 'amber-falcon-sings-over-7-quiet-hills';
const RESET_PASSWORD = 'cobalt-lynx-naps-under-4-red-bridges';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function webhookEnv(receiver: Receiver) {
  return { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET };
}

function eventsOf(receiver: Receiver, userId: string): LifecycleEventBody[] {
  return [...receiver.events.values()].filter((e) => e.userId === userId);
}

/** Waits for an event of `type` about `userId` whose data contains `data`; returns it. */
async function expectEvent(
  receiver: Receiver,
  userId: string,
  type: string,
  data: Record<string, unknown> = {},
): Promise<LifecycleEventBody> {
  const find = () =>
    eventsOf(receiver, userId).find(
      (e) =>
        e.type === type &&
        Object.entries(data).every(([k, v]) => JSON.stringify(e.data[k]) === JSON.stringify(v)),
    );
  await until(`${type} ${JSON.stringify(data)} for ${userId}`, () => find() !== undefined);
  const event = find() as LifecycleEventBody;
  expect(Object.keys(event).sort()).toEqual(['at', 'data', 'id', 'type', 'userId']);
  expect(event.id).toMatch(UUID);
  expect(new Date(event.at).toISOString()).toBe(event.at);
  return event;
}

describe('every wired change arrives at the receiver, signed, with its shape', () => {
  let smtp: TestSmtp;
  let receiver: Receiver;
  let ctx: TestContext;
  const clock = manualClock();
  beforeAll(async () => {
    smtp = await startTestSmtp();
    receiver = await startReceiver();
    ctx = await createTestApp({
      env: { ...accountTestEnv(smtp), ...webhookEnv(receiver) },
      deps: { clock, lifecycleWorker: FAST_DELIVERY },
    });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    await receiver?.close();
    await smtp?.close();
  });

  it('a user: created, verified, session revoked, password changed, MFA on/codes/off, reset, logout-all', async () => {
    const { app } = ctx;
    const u = await registerAndVerify(app, smtp, { displayName: 'Webhook Person' });
    const created = await expectEvent(receiver, u.userId, 'user.created', { via: 'register' });
    expect(created.data).toEqual({
      email: u.email,
      displayName: 'Webhook Person',
      via: 'register',
    });
    await expectEvent(receiver, u.userId, 'user.verified', { via: 'link' });

    // One session revoked by id.
    const first = await login(app, u.email, u.password);
    const second = await login(app, u.email, u.password);
    const secondId = await sessionIdOf(ctx, second);
    const revoke = await app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${secondId}`,
      headers: bearer(first.accessToken),
    });
    expect(revoke.statusCode, revoke.body).toBe(204);
    const revoked = await expectEvent(receiver, u.userId, 'session.revoked');
    expect(revoked.data).toEqual({ sessionIds: [secondId] });

    const change = await app.inject({
      method: 'POST',
      url: '/auth/password/change',
      headers: bearer(first.accessToken),
      payload: { currentPassword: u.password, newPassword: NEW_PASSWORD },
    });
    expect(change.statusCode, change.body).toBe(204);
    await expectEvent(receiver, u.userId, 'user.password_changed', { via: 'change' });

    const { secret } = await enrolTotp(app, first.accessToken, clock);
    await expectEvent(receiver, u.userId, 'user.mfa_changed', { change: 'mfa_enabled' });
    const codes = await app.inject({
      method: 'POST',
      url: '/auth/mfa/recovery-codes',
      headers: bearer(first.accessToken),
      payload: { code: freshCode(secret, clock) },
    });
    expect(codes.statusCode, codes.body).toBe(200);
    await expectEvent(receiver, u.userId, 'user.mfa_changed', {
      change: 'recovery_codes_regenerated',
    });
    const off = await app.inject({
      method: 'DELETE',
      url: '/auth/mfa/totp',
      headers: bearer(first.accessToken),
      payload: { code: freshCode(secret, clock) },
    });
    expect(off.statusCode, off.body).toBe(204);
    await expectEvent(receiver, u.userId, 'user.mfa_changed', { change: 'mfa_disabled' });

    const forgot = await app.inject({
      method: 'POST',
      url: '/auth/password/forgot',
      payload: { email: u.email },
    });
    expect(forgot.statusCode).toBe(202);
    const mail = await waitForAccountMail(smtp, u.email, 'reset');
    const token = extractLink(mail, '/reset-password').searchParams.get('token');
    const reset = await app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token, newPassword: RESET_PASSWORD },
    });
    expect(reset.statusCode, reset.body).toBe(204);
    await expectEvent(receiver, u.userId, 'user.password_changed', { via: 'reset' });

    const again = await login(app, u.email, RESET_PASSWORD);
    const againId = await sessionIdOf(ctx, again);
    const revocations = () =>
      eventsOf(receiver, u.userId).filter((e) => e.type === 'session.revoked');
    await until('every earlier event', async () => (await undelivered(ctx)) === 0);
    const before = revocations().length;
    const all = await app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(again.accessToken),
    });
    expect(all.statusCode).toBeLessThan(300);
    await until('the logout-all event', () => revocations().length > before);
    expect(revocations().at(-1)?.data).toEqual({ sessionIds: [againId] });

    // Nothing secret in any event: no password, hash, TOTP secret, code or link token.
    const bodies = JSON.stringify(eventsOf(receiver, u.userId));
    for (const secretValue of [u.password, NEW_PASSWORD, RESET_PASSWORD, secret, token ?? '']) {
      expect(bodies).not.toContain(secretValue);
    }
    expect(bodies).not.toMatch(/\$argon2|token|secret|hash/i);
  });

  it('an admin: lock, unlock, roles, logout-all and delete', async () => {
    const { app } = ctx;
    const db = ctx.database.db;
    const admin = await createAdmin(app, db, clock);
    let target: Actor = await createActor(app, db, { prefix: 'target' });
    const patch = (payload: object) =>
      app.inject({
        method: 'PATCH',
        url: `/admin/users/${target.userId}`,
        headers: admin.headers,
        payload,
      });

    expect((await patch({ locked: true })).statusCode).toBe(200);
    const locked = await expectEvent(receiver, target.userId, 'user.locked');
    expect(locked.data).toEqual({});
    // The lock ended the target's session.
    await expectEvent(receiver, target.userId, 'session.revoked');
    expect((await patch({ locked: false })).statusCode).toBe(200);
    await expectEvent(receiver, target.userId, 'user.unlocked');
    expect((await patch({ roles: ['user', 'moderator'] })).statusCode).toBe(200);
    const updated = await expectEvent(receiver, target.userId, 'user.updated');
    expect(updated.data).toEqual({ roles: { from: [], to: ['moderator'] } });

    target = { ...target, ...(await login(app, target.email, target.password)) };
    const sessionsBefore = eventsOf(receiver, target.userId).filter(
      (e) => e.type === 'session.revoked',
    ).length;
    const out = await app.inject({
      method: 'POST',
      url: `/admin/users/${target.userId}/logout-all`,
      headers: admin.headers,
    });
    expect(out.statusCode).toBeLessThan(300);
    await until(
      'admin logout-all event',
      () =>
        eventsOf(receiver, target.userId).filter((e) => e.type === 'session.revoked').length >
        sessionsBefore,
    );

    const del = await app.inject({
      method: 'DELETE',
      url: `/admin/users/${target.userId}`,
      headers: admin.headers,
    });
    expect(del.statusCode).toBe(204);
    const deleted = await expectEvent(receiver, target.userId, 'user.deleted');
    // The account's personal data is erased: the event carries none of it.
    expect(JSON.stringify(deleted.data)).not.toContain(target.email);

    // Administrators see every one of them delivered, newest first, a page at a time.
    const ids = eventsOf(receiver, target.userId).map((e) => e.id);
    const seen = new Map<string, Record<string, unknown>>();
    await until('deliveries listed as delivered', async () => {
      seen.clear();
      let cursor: string | null = null;
      do {
        const res = await app.inject({
          method: 'GET',
          url: `/admin/webhooks/deliveries?limit=5${cursor ? `&cursor=${cursor}` : ''}`,
          headers: admin.headers,
        });
        expect(res.statusCode, res.body).toBe(200);
        const page = res.json() as { items: Record<string, unknown>[]; nextCursor: string | null };
        const pageIds = page.items.map((i) => i.id as string);
        expect([...pageIds].sort().reverse()).toEqual(pageIds);
        for (const item of page.items) seen.set(item.id as string, item);
        cursor = page.nextCursor;
      } while (cursor);
      return ids.every((id) => seen.get(id)?.state === 'delivered');
    });
    const item = seen.get(deleted.id);
    expect(item).toMatchObject({
      type: 'user.deleted',
      userId: target.userId,
      at: deleted.at,
      state: 'delivered',
      lastStatus: 200,
      nextAttemptAt: null,
    });
    expect(item?.attempts).toBeGreaterThanOrEqual(1);
    expect(typeof item?.deliveredAt).toBe('string');
  });
});

/** Events not yet delivered. */
async function undelivered(ctx: TestContext): Promise<number> {
  const rows = await ctx.database.db
    .selectFrom('lifecycle_events')
    .select('id')
    .where('delivered_at', 'is', null)
    .execute();
  return rows.length;
}

/** The caller's session id for a login (the only live session that is not someone else's). */
async function sessionIdOf(ctx: TestContext, l: { accessToken: string }): Promise<string> {
  const res = await ctx.app.inject({
    method: 'GET',
    url: '/auth/sessions',
    headers: bearer(l.accessToken),
  });
  const current = (res.json() as { items: { id: string; current: boolean }[] }).items.find(
    (s) => s.current,
  );
  if (!current) throw new Error('no current session');
  return current.id;
}

describe('the CLI: user create emits user.created, delivered by the next app to run', () => {
  const dirs: string[] = [];
  let receiver: Receiver;
  afterAll(async () => {
    await receiver?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'bastion user create, then an app on the same database delivers the event',
    async () => {
      receiver = await startReceiver();
      const dataDir = mkdtempSync(join(tmpdir(), 'bastion-lifecycle-cli-'));
      dirs.push(dataDir);
      let pgHandle: (DatabaseHandle & { url: string }) | undefined;
      const env: Record<string, string> = { DATA_DIR: dataDir };
      if (ENV_DATABASE_URL) {
        pgHandle = (await createPostgresDatabase(ENV_DATABASE_URL)) as DatabaseHandle & {
          url: string;
        };
        env.DATABASE_URL = pgHandle.url;
      }
      const run = await runCli(
        ['user', 'create', '--email', 'cli.made@example.test'],
        env,
        'granite heron folds nine maps\n',
      );
      expect(run.code, run.stderr).toBe(0);
      const userId = /created user ([0-9a-f-]{36})/.exec(run.stdout)?.[1];
      expect(userId).toMatch(UUID);

      const database: TestDatabase = pgHandle ?? (await openDatabase({ dataDir }));
      await migrateToLatest(database.db);
      const ctx = await createTestApp({
        env: webhookEnv(receiver),
        database,
        deps: { lifecycleWorker: FAST_DELIVERY },
      });
      try {
        const event = await expectEvent(receiver, userId as string, 'user.created', {
          via: 'cli',
        });
        expect(event.data).toEqual({
          email: 'cli.made@example.test',
          displayName: 'cli.made',
          roles: [],
          via: 'cli',
        });
      } finally {
        await ctx.close();
        await database.close();
      }
    },
    BUILD_TIMEOUT_MS,
  );
});
