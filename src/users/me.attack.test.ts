/**
 * Attacks on the self-service account routes (issue 19).
 * - A stolen access token (or a stolen refresh cookie, which renews the token but not the login)
 *   cannot export or delete the account once the login is over 5 minutes old.
 * - The export holds no secret column (checked against the values actually stored: password
 *   hash, sealed TOTP secret, recovery-code hashes, refresh and one-time token hashes) and nothing
 *   of another user (a commenter on the caller's post, the administrator who changed the caller's
 *   roles, the account an admin action named).
 * - After `DELETE /users/me` the access token, the refresh cookie and the password are all refused
 *   at once; identities and personal data are gone; orders and the wallet ledger stay, without
 *   personal data.
 */
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  expectProblem,
  post,
} from '../../test/support/accounts.js';
import { type Actor, createActor, createAdmin } from '../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../test/support/app.js';
import { bearer, cookieValue, type LoggedIn, STRONG_PASSWORD } from '../../test/support/auth.js';
import { enrolTotp, freshCode, loginWithMfa } from '../../test/support/mfa.js';
import { createProduct, fund, placeOrder } from '../../test/support/shop.js';
import { startTestSmtp, type TestSmtp } from '../../test/support/smtp.js';
import { me, refresh, rotated } from '../../test/support/tokens.js';
import { manualClock } from '../platform/clock.js';
import { randomToken, sha256Hex } from '../platform/crypto.js';

const VICTIM_IP = '198.51.100.61';
const ADMIN_IP = '203.0.113.77';
const OTHER_IP = '192.0.2.99';

const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
let ctx: TestContext;
let smtp: TestSmtp;
let product: string;
beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: accountTestEnv(smtp), deps: { clock } });
  const admin = await createAdmin(ctx.app, ctx.database.db, clock);
  product = await createProduct(ctx.app, admin.headers, { priceCents: 300, stock: 100 });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

const db = () => ctx.database.db;

function exportOf(headers: Record<string, string>) {
  return ctx.app.inject({ url: '/users/me/export', headers, remoteAddress: VICTIM_IP });
}

function deleteMe(headers: Record<string, string>) {
  return ctx.app.inject({ method: 'DELETE', url: '/users/me', headers, remoteAddress: VICTIM_IP });
}

describe('a stolen token cannot export or delete once the login is not recent', () => {
  it('an access token older than 5 minutes: 401 reauthentication_required, account intact', async () => {
    const victim = await createActor(ctx.app, db(), { prefix: 'stolen' });
    clock.advance(6 * 60_000);
    // The token itself is still valid (15 minutes): only the sensitive routes refuse it.
    expect((await me(ctx.app, victim.accessToken)).statusCode).toBe(200);
    expectProblem(await exportOf(victim.headers), 401, 'reauthentication_required');
    expectProblem(await deleteMe(victim.headers), 401, 'reauthentication_required');
    const row = await db()
      .selectFrom('users')
      .select(['deleted_at', 'email'])
      .where('id', '=', victim.userId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ deleted_at: null, email: victim.email });
  });

  it('a stolen refresh cookie renews the token but not the login time', async () => {
    const victim = await createActor(ctx.app, db(), { prefix: 'cookie' });
    clock.advance(6 * 60_000);
    const renewed = rotated(await refresh(ctx.app, victim.cookie, victim.csrfToken));
    expect((await me(ctx.app, renewed.accessToken)).statusCode).toBe(200);
    expectProblem(await exportOf(bearer(renewed.accessToken)), 401, 'reauthentication_required');
    expectProblem(await deleteMe(bearer(renewed.accessToken)), 401, 'reauthentication_required');
  });
});

interface Victim {
  readonly login: LoggedIn;
  readonly headers: Record<string, string>;
  readonly totpSecret: string;
  readonly recoveryCodes: string[];
  readonly other: Actor;
  readonly admin: Actor;
  readonly orderId: string;
  readonly postId: string;
  readonly otherComment: string;
}

/** A user with every kind of stored data, MFA on, and traces of two other people about them. */
async function victimWithEverything(): Promise<Victim> {
  const first = await createActor(ctx.app, db(), { prefix: 'victim', displayName: 'Vic Tim' });
  const { secret, recoveryCodes } = await enrolTotp(ctx.app, first.accessToken, clock);
  const login = await loginWithMfa(ctx.app, first.email, STRONG_PASSWORD, freshCode(secret, clock));
  const headers = bearer(login.accessToken);
  const other = await createActor(ctx.app, db(), { prefix: 'other', displayName: 'Otto Other' });

  await fund(db(), login.userId, 1_000);
  const order = await placeOrder(ctx.app, headers, {
    items: [{ productId: product, quantity: 2 }],
    instructions: 'Leave it at the blue door',
  });
  expect(order.statusCode, order.body).toBe(201);
  const created = await ctx.app.inject({
    method: 'POST',
    url: '/posts',
    headers,
    payload: { title: 'My post', content: '<p>mine</p>' },
  });
  expect(created.statusCode, created.body).toBe(201);
  const postId = created.json().id as string;
  for (const [who, content, ip] of [
    [headers, 'my own comment', VICTIM_IP],
    [other.headers, 'the secret life of Otto', OTHER_IP],
  ] as const) {
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/posts/${postId}/comments`,
      headers: who,
      remoteAddress: ip,
      payload: { content },
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  // An administrator changes the victim's roles, from the administrator's own address.
  const admin = await createAdmin(ctx.app, db(), clock);
  const patched = await ctx.app.inject({
    method: 'PATCH',
    url: `/admin/users/${login.userId}`,
    headers: admin.headers,
    remoteAddress: ADMIN_IP,
    payload: { roles: ['moderator'] },
  });
  expect(patched.statusCode, patched.body).toBe(200);
  // A social-login identity, a pending one-time token, and a security event naming another user.
  await db()
    .insertInto('identities')
    .values({
      id: uuidv7(),
      user_id: login.userId,
      provider: 'acme',
      issuer: 'https://idp.example.test',
      subject: `sub-${uuidv7()}`,
      email: login.email,
      created_at: new Date(clock.now()),
      last_login_at: new Date(clock.now()),
    })
    .execute();
  await db()
    .insertInto('one_time_tokens')
    .values({
      token_hash: sha256Hex(randomToken()),
      user_id: login.userId,
      purpose: 'reset_password',
      expires_at: new Date(clock.now() + 3_600_000),
    })
    .execute();
  await db()
    .insertInto('security_events')
    .values({
      id: uuidv7(),
      type: 'admin_action',
      user_id: login.userId,
      ip: VICTIM_IP,
      detail: JSON.stringify({ action: 'admin.user.locked', targetId: other.userId }),
      created_at: new Date(clock.now()),
    })
    .execute();
  return {
    login,
    headers,
    totpSecret: secret,
    recoveryCodes,
    other,
    admin,
    orderId: order.json().id,
    postId,
    otherComment: 'the secret life of Otto',
  };
}

/** Every secret value stored for the user, read from the tables themselves. */
async function storedSecrets(userId: string): Promise<string[]> {
  const user = await db()
    .selectFrom('users')
    .select(['password_hash', 'totp_secret_sealed', 'totp_pending_sealed'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  const codes = await db()
    .selectFrom('mfa_recovery_codes')
    .select('code_hash')
    .where('user_id', '=', userId)
    .execute();
  const refreshHashes = await db()
    .selectFrom('refresh_tokens')
    .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
    .select('refresh_tokens.token_hash')
    .where('sessions.user_id', '=', userId)
    .execute();
  const oneTime = await db()
    .selectFrom('one_time_tokens')
    .select('token_hash')
    .where('user_id', '=', userId)
    .execute();
  const values = [
    user.password_hash,
    user.totp_secret_sealed,
    user.totp_pending_sealed,
    ...codes.map((c) => c.code_hash),
    ...refreshHashes.map((r) => r.token_hash),
    ...oneTime.map((t) => t.token_hash),
  ].filter((v): v is string => typeof v === 'string' && v.length > 0);
  return values;
}

describe('the export', () => {
  let victim: Victim;
  let body: string;
  beforeAll(async () => {
    victim = await victimWithEverything();
    const res = await exportOf(victim.headers);
    expect(res.statusCode, res.body).toBe(200);
    body = res.body;
  }, BUILD_TIMEOUT_MS);

  it('holds the caller’s data: sessions, identity, order, ledger, post, comment, audit, events', () => {
    const data = JSON.parse(body);
    expect(data.user).toMatchObject({ id: victim.login.userId, displayName: 'Vic Tim' });
    expect(data.sessions.length).toBeGreaterThanOrEqual(1);
    expect(data.sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    expect(data.identities).toHaveLength(1);
    expect(data.orders).toEqual([
      expect.objectContaining({
        id: victim.orderId,
        instructions: 'Leave it at the blue door',
        totalCents: 600,
        items: [{ productId: product, quantity: 2, unitPriceCents: 300 }],
      }),
    ]);
    expect(data.ledger.map((e: { amountCents: number }) => e.amountCents).sort()).toEqual(
      [-600, 1000].sort(),
    );
    expect(data.wallet).toEqual({ balanceCents: 400, currency: 'usd' });
    expect(data.posts.map((p: { id: string }) => p.id)).toEqual([victim.postId]);
    expect(data.comments).toHaveLength(1);
    expect(data.comments[0].content).toContain('my own comment');
    const actions = data.auditEntries.map((a: { action: string }) => a.action);
    expect(actions).toContain('account.mfa_enabled');
    expect(actions).toContain('admin.user.roles_changed');
    const byAdmin = data.auditEntries.find(
      (a: { action: string }) => a.action === 'admin.user.roles_changed',
    );
    expect(byAdmin).toMatchObject({ bySelf: false, ip: null, detail: { to: ['moderator'] } });
    expect(data.securityEvents).toEqual([
      expect.objectContaining({ type: 'admin_action', detail: { action: 'admin.user.locked' } }),
    ]);
  });

  it('holds no stored secret, nor the secrets they protect', async () => {
    const secrets = await storedSecrets(victim.login.userId);
    // Password hash, sealed TOTP secret, 10 recovery-code hashes, refresh and one-time tokens.
    expect(secrets.length).toBeGreaterThanOrEqual(14);
    const refreshCookie = cookieValue(victim.login.cookie.split('; '), 'bastion_refresh');
    expect(refreshCookie).toBeTruthy();
    const leaks = [
      ...secrets,
      victim.totpSecret,
      ...victim.recoveryCodes,
      refreshCookie as string,
      victim.login.accessToken,
    ].filter((s) => body.includes(s));
    expect(leaks).toEqual([]);
    // Nor any column named like one.
    expect(body).not.toMatch(/password|totp|secret|token_?hash|code_?hash|sealed/i);
  });

  it('holds nothing of another user: the commenter, the administrator, a named account', () => {
    const foreign = [
      victim.other.userId,
      victim.other.email,
      'Otto Other',
      victim.otherComment,
      OTHER_IP,
      victim.admin.userId,
      victim.admin.email,
      ADMIN_IP,
    ].filter((s) => body.includes(s));
    expect(foreign).toEqual([]);
  });
});

describe('after DELETE /users/me', () => {
  it('the token, the refresh cookie and the password are refused; personal data gone, accounts kept', async () => {
    const victim = await victimWithEverything();
    const userId = victim.login.userId;
    const ledgerBefore = await db()
      .selectFrom('ledger_entries')
      .select(['id', 'amount_cents', 'account', 'reference'])
      .where('account', '=', `wallet:${userId}`)
      .orderBy('id')
      .execute();
    expect(ledgerBefore).toHaveLength(2);

    expect((await deleteMe(victim.headers)).statusCode).toBe(204);

    // At once, without waiting for the token to expire.
    expectProblem(await me(ctx.app, victim.login.accessToken), 401, 'unauthorized');
    expectProblem(await exportOf(victim.headers), 401, 'unauthorized');
    expectProblem(await deleteMe(victim.headers), 401, 'unauthorized');
    expectProblem(
      await refresh(ctx.app, victim.login.cookie, victim.login.csrfToken),
      401,
      'unauthorized',
    );
    expectProblem(
      await post(ctx.app, '/auth/login', { email: victim.login.email, password: STRONG_PASSWORD }),
      401,
      'invalid_credentials',
    );

    const row = await db()
      .selectFrom('users')
      .selectAll()
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(victim.login.email.split('@')[0]);
    expect(row).toMatchObject({ display_name: 'Deleted user', password_hash: null, roles: [] });
    expect(row.totp_secret_sealed).toBeNull();
    const left = {
      identities: await db()
        .selectFrom('identities')
        .select('id')
        .where('user_id', '=', userId)
        .execute(),
      codes: await db()
        .selectFrom('mfa_recovery_codes')
        .select('code_hash')
        .where('user_id', '=', userId)
        .execute(),
      tokens: await db()
        .selectFrom('one_time_tokens')
        .select('token_hash')
        .where('user_id', '=', userId)
        .execute(),
      liveSessions: await db()
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .execute(),
      sessionsWithAddress: await db()
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', userId)
        .where((eb) => eb.or([eb('ip', 'is not', null), eb('user_agent', 'is not', null)]))
        .execute(),
    };
    expect(left).toEqual({
      identities: [],
      codes: [],
      tokens: [],
      liveSessions: [],
      sessionsWithAddress: [],
    });

    // Accounting stays: the same ledger entries, the order without its free text.
    const ledgerAfter = await db()
      .selectFrom('ledger_entries')
      .select(['id', 'amount_cents', 'account', 'reference'])
      .where('account', '=', `wallet:${userId}`)
      .orderBy('id')
      .execute();
    expect(ledgerAfter).toEqual(ledgerBefore);
    const order = await db()
      .selectFrom('orders')
      .select(['id', 'instructions', 'total_cents'])
      .where('id', '=', victim.orderId)
      .executeTakeFirstOrThrow();
    expect(order).toEqual({ id: victim.orderId, instructions: null, total_cents: 600 });
  });
});
