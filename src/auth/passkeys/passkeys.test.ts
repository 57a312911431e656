/**
 * Passkeys through the API (issue 15): register with recent login, list, rename, sign in with the
 * passkey alone (an MFA session), remove; never the last way in; an admin's reset-mfa removes
 * them. The software authenticator signs real ES256 assertions. Attacks: passkeys.attack.test.ts.
 */
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../../../test/support/accounts.js';
import { createActor, createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, cookieHeader } from '../../../test/support/auth.js';
import { SETUP_TIMEOUT_MS } from '../../../test/support/mfa.js';
import {
  addPasskey,
  loginOptions,
  loginVerify,
  SoftAuthenticator,
} from '../../../test/support/passkeys.js';
import { manualClock } from '../../platform/clock.js';

const clock = manualClock();
let ctx: TestContext;
let auth: SoftAuthenticator;

beforeAll(async () => {
  ctx = await createTestApp({ deps: { clock } });
  auth = new SoftAuthenticator('http://127.0.0.1:3000');
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

const claims = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8')) as {
    sub: string;
    amr: string[];
  };

async function signInWith(credential: Parameters<SoftAuthenticator['get']>[1]) {
  const { options, cookie } = await loginOptions(ctx.app);
  return loginVerify(ctx.app, cookie, auth.get(options, credential));
}

const list = async (token: string) => {
  const res = await ctx.app.inject({ url: '/auth/passkeys', headers: bearer(token) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items as { id: string; name: string; createdAt: string; lastUsedAt: string }[];
};

describe('passkeys', () => {
  it('registers, lists, renames, signs in alone as an MFA session, and removes', async () => {
    const user = await createActor(ctx.app, ctx.database.db, { prefix: 'pk' });
    const options = await ctx.app.inject({
      method: 'POST',
      url: '/auth/passkeys/register/options',
      headers: user.headers,
    });
    expect(options.statusCode, options.body).toBe(200);
    const o = options.json();
    expect(o.rp.id).toBe('127.0.0.1');
    expect(o.authenticatorSelection).toMatchObject({
      residentKey: 'required',
      userVerification: 'required',
    });
    const made = auth.create(o);
    const verified = await ctx.app.inject({
      method: 'POST',
      url: '/auth/passkeys/register/verify',
      headers: user.headers,
      payload: { response: made.response, name: 'Laptop' },
    });
    expect(verified.statusCode, verified.body).toBe(201);
    const id = verified.json().id as string;
    expect(verified.json()).toMatchObject({ name: 'Laptop', lastUsedAt: null });
    expect(await list(user.accessToken)).toEqual([
      { id, name: 'Laptop', createdAt: expect.any(String), lastUsedAt: null },
    ]);

    const renamed = await ctx.app.inject({
      method: 'PATCH',
      url: `/auth/passkeys/${id}`,
      headers: user.headers,
      payload: { name: 'Work laptop' },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json().name).toBe('Work laptop');

    // Audited and a lifecycle event, in the change's transaction.
    const audit = await ctx.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_id', '=', user.userId)
      .execute();
    expect(audit.map((a) => a.action)).toContain('account.passkey_added');
    const events = await ctx.database.db
      .selectFrom('lifecycle_events')
      .select('type')
      .where('user_id', '=', user.userId)
      .execute();
    expect(events.map((e) => e.type)).toContain('user.mfa_changed');

    // The passkey alone signs in; the session counts as MFA; cookies like POST /auth/login.
    const signedIn = await signInWith(made.credential);
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    const body = signedIn.json();
    expect(body.user.id).toBe(user.userId);
    expect(body.tokenType).toBe('Bearer');
    // RFC 8176 as the design names it: a device-bound key (this authenticator sets no backup
    // eligibility) and a second factor on its own; no password was used, so no `pwd`.
    expect(claims(body.accessToken).amr).toEqual(['hwk', 'mfa']);
    expect(String(signedIn.headers['set-cookie'])).toContain('bastion_refresh=');
    // A refreshed token of the session says the same.
    const refreshed = await ctx.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: {
        cookie: cookieHeader(signedIn.headers['set-cookie']),
        'x-csrf-token': body.csrfToken,
      },
    });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    expect(claims(refreshed.json().accessToken).amr).toEqual(['hwk', 'mfa']);
    const [row] = await list(body.accessToken);
    expect(row?.lastUsedAt).not.toBeNull();
    const stored = await ctx.database.db
      .selectFrom('passkeys')
      .select(['counter', 'backed_up', 'device_type'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(Number(stored.counter)).toBe(1);

    const removed = await ctx.app.inject({
      method: 'DELETE',
      url: `/auth/passkeys/${id}`,
      headers: user.headers,
    });
    expect(removed.statusCode, removed.body).toBe(204);
    expect(await list(user.accessToken)).toEqual([]);
    expectProblem(await signInWith(made.credential), 401, 'invalid_credentials');
  });

  it("a synced passkey's session says `swk`: a software key, still a second factor", async () => {
    const user = await createActor(ctx.app, ctx.database.db, { prefix: 'pk-synced' });
    const { credential, id } = await addPasskey(ctx.app, user.accessToken, auth, { synced: true });
    const stored = await ctx.database.db
      .selectFrom('passkeys')
      .select(['device_type', 'backed_up'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({ device_type: 'multiDevice', backed_up: true });
    const signedIn = await signInWith(credential);
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    expect(claims(signedIn.json().accessToken).amr).toEqual(['swk', 'mfa']);
    const session = await ctx.database.db
      .selectFrom('sessions')
      .select(['first_factor', 'mfa'])
      .where('user_id', '=', user.userId)
      .where('first_factor', '!=', 'pwd')
      .executeTakeFirstOrThrow();
    expect(session).toEqual({ first_factor: 'swk', mfa: true });
  });

  it('never removes the last way in: a passwordless account keeps its only passkey', async () => {
    const user = await createActor(ctx.app, ctx.database.db, { prefix: 'pkless' });
    const first = await addPasskey(ctx.app, user.accessToken, auth);
    await ctx.database.db
      .updateTable('users')
      .set({ password_hash: null })
      .where('id', '=', user.userId)
      .execute();
    const del = (id: string) =>
      ctx.app.inject({ method: 'DELETE', url: `/auth/passkeys/${id}`, headers: user.headers });
    expectProblem(await del(first.id), 409, 'last_sign_in_method');
    const second = await addPasskey(ctx.app, user.accessToken, auth);
    expect((await del(first.id)).statusCode).toBe(204);
    expectProblem(await del(second.id), 409, 'last_sign_in_method');
    expect((await signInWith(second.credential)).statusCode).toBe(200);
  });

  it('a passkey counts as a way in: a passwordless account may unlink its only identity, then keeps the passkey', async () => {
    const user = await createActor(ctx.app, ctx.database.db, { prefix: 'pksocial' });
    const key = await addPasskey(ctx.app, user.accessToken, auth);
    await ctx.database.db
      .updateTable('users')
      .set({ password_hash: null })
      .where('id', '=', user.userId)
      .execute();
    const identityId = uuidv7();
    await ctx.database.db
      .insertInto('identities')
      .values({
        id: identityId,
        user_id: user.userId,
        provider: 'corp',
        issuer: 'https://idp.example',
        subject: `sub-${identityId}`,
        email: null,
        created_at: new Date(),
        last_login_at: new Date(),
      })
      .execute();
    const unlink = await ctx.app.inject({
      method: 'DELETE',
      url: `/auth/identities/${identityId}`,
      headers: user.headers,
    });
    expect(unlink.statusCode, unlink.body).toBe(204);
    const del = await ctx.app.inject({
      method: 'DELETE',
      url: `/auth/passkeys/${key.id}`,
      headers: user.headers,
    });
    expectProblem(del, 409, 'last_sign_in_method');
  });

  it('deleting the account erases its passkeys', async () => {
    const user = await createActor(ctx.app, ctx.database.db, { prefix: 'pkgone' });
    const key = await addPasskey(ctx.app, user.accessToken, auth);
    const gone = await ctx.app.inject({
      method: 'DELETE',
      url: '/users/me',
      headers: user.headers,
    });
    expect(gone.statusCode, gone.body).toBe(204);
    const left = await ctx.database.db
      .selectFrom('passkeys')
      .select('id')
      .where('user_id', '=', user.userId)
      .execute();
    expect(left).toEqual([]);
    expectProblem(await signInWith(key.credential), 401, 'invalid_credentials');
  });

  it("an admin's passkey sign-in satisfies the admin MFA rule; reset-mfa removes a user's passkeys", async () => {
    const admin = await createAdmin(ctx.app, ctx.database.db, clock);
    const adminKey = await addPasskey(ctx.app, admin.accessToken, auth);
    const signedIn = await signInWith(adminKey.credential);
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    const token = signedIn.json().accessToken as string;
    const users = await ctx.app.inject({ url: '/admin/users', headers: bearer(token) });
    expect(users.statusCode, users.body).toBe(200);

    const user = await createActor(ctx.app, ctx.database.db, { prefix: 'pkreset' });
    const key = await addPasskey(ctx.app, user.accessToken, auth);
    const reset = await ctx.app.inject({
      method: 'POST',
      url: `/admin/users/${user.userId}/reset-mfa`,
      headers: admin.headers,
      payload: { reason: 'lost their phone' },
    });
    expect(reset.statusCode, reset.body).toBe(204);
    const left = await ctx.database.db
      .selectFrom('passkeys')
      .select('id')
      .where('user_id', '=', user.userId)
      .execute();
    expect(left).toEqual([]);
    expectProblem(await signInWith(key.credential), 401, 'invalid_credentials');

    // An admin whose only second factor is a passkey may use the support tools too.
    const passkeyAdmin = await createActor(ctx.app, ctx.database.db, {
      roles: ['admin'],
      prefix: 'pkadmin',
    });
    const its = await addPasskey(ctx.app, passkeyAdmin.accessToken, auth);
    const session = await signInWith(its.credential);
    expect(session.statusCode, session.body).toBe(200);
    const target = await createActor(ctx.app, ctx.database.db, { prefix: 'pktarget' });
    const byPasskeyAdmin = await ctx.app.inject({
      method: 'POST',
      url: `/admin/users/${target.userId}/reset-mfa`,
      headers: bearer(session.json().accessToken),
      payload: { reason: 'support call' },
    });
    expect(byPasskeyAdmin.statusCode, byPasskeyAdmin.body).toBe(204);
  });
});
