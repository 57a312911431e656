/**
 * Issue 14: a deleted account kept the addresses and user agents of its sessions and the
 * addresses and details of its security events, forever. Deleting an account erases them in
 * the same transaction; accounts deleted before the fix are erased by the retention task.
 * The wallet ledger and the audit log stay (accounting and the chain), holding no such data.
 */
import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createActor, createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { SETUP_TIMEOUT_MS } from '../../../test/support/mfa.js';
import { manualClock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/database.js';

let ctx: TestContext;
let admin: Actor;
let db: Db;
const clock = manualClock();

beforeAll(async () => {
  ctx = await createTestApp({ deps: { clock } });
  db = ctx.database.db;
  admin = await createAdmin(ctx.app, db, clock);
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

/** A user with a session (IP and user agent), a security event and a pending one-time token. */
async function userWithTraces(): Promise<Actor> {
  const user = await createActor(ctx.app, db, { prefix: 'leaving' });
  await db
    .insertInto('security_events')
    .values({
      id: uuidv7(),
      type: 'password_changed',
      user_id: user.userId,
      ip: '198.51.100.23',
      detail: JSON.stringify({ userAgent: 'Their Browser/1.0' }),
      created_at: new Date(clock.now()),
    })
    .execute();
  await db
    .insertInto('one_time_tokens')
    .values({
      token_hash: `test-${uuidv7()}`,
      user_id: user.userId,
      purpose: 'reset_password',
      expires_at: new Date(clock.now() + 3_600_000),
    })
    .execute();
  return user;
}

async function traces(userId: string) {
  const sessions = await db
    .selectFrom('sessions')
    .select(['ip', 'user_agent'])
    .where('user_id', '=', userId)
    .execute();
  const events = await db
    .selectFrom('security_events')
    .select(['ip', 'detail'])
    .where('user_id', '=', userId)
    .execute();
  const tokens = await db
    .selectFrom('one_time_tokens')
    .select('token_hash')
    .where('user_id', '=', userId)
    .execute();
  return { sessions, events, tokens };
}

describe('deleting an account erases what identifies its owner', () => {
  it('sessions lose their IP and user agent, security events their IP and detail, tokens go', async () => {
    const user = await userWithTraces();
    const before = await traces(user.userId);
    expect(before.sessions.length).toBeGreaterThan(0);
    expect(before.sessions.every((s) => s.ip !== null && s.user_agent !== null)).toBe(true);

    const res = await ctx.app.inject({
      method: 'DELETE',
      url: `/admin/users/${user.userId}`,
      headers: admin.headers,
    });
    expect(res.statusCode, res.body).toBe(204);

    const after = await traces(user.userId);
    expect(after.sessions.length).toBe(before.sessions.length);
    expect(after.sessions).toEqual(before.sessions.map(() => ({ ip: null, user_agent: null })));
    expect(after.events).toEqual([{ ip: null, detail: {} }]);
    expect(after.tokens).toEqual([]);
    // The audit chain is never touched by the erasure.
    const verify = await ctx.app.inject({ url: '/admin/audit/verify', headers: admin.headers });
    expect(verify.json()).toMatchObject({ intact: true });
  });

  it('an account deleted before the fix is erased by the retention task', async () => {
    const user = await userWithTraces();
    // The old delete path: the tombstone only.
    await sql`UPDATE users SET deleted_at = now(), email = ${`deleted-${user.userId}@deleted.invalid`},
              email_key = ${`deleted:${user.userId}`} WHERE id = ${user.userId}`.execute(db);
    const { retentionTasks } = await import('../../platform/retention/retention.tasks.js');
    const { pruneOnce } = await import('../../platform/retention/pruner.js');
    await pruneOnce(db, retentionTasks(ctx.config.retention), new Date(clock.now()), {
      batchSize: 500,
      batches: 4,
    });
    const after = await traces(user.userId);
    expect(after.sessions.length).toBeGreaterThan(0);
    expect(after.sessions.every((s) => s.ip === null && s.user_agent === null)).toBe(true);
    expect(after.events).toEqual([{ ip: null, detail: {} }]);
    expect(after.tokens).toEqual([]);
  });
});
