/**
 * Social login against a real OpenID Provider (`oidc-provider` on loopback) and a loopback
 * GitHub: new people, returning people, linking by verified email, MFA, the identity routes
 * (issue 16).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser, userByEmail } from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, uniqueEmail } from '../../../test/support/auth.js';
import { Browser, startGithub, startIdp } from '../../../test/support/social.js';
import {
  accessToken,
  clientFor,
  expectRefused,
  expectSignedIn,
  identitiesOf,
  PUBLIC,
  providerEnv,
  signIn,
} from '../../../test/support/social-app.js';

const sub = () => `sub-${randomBytes(6).toString('hex')}`;

describe('social login (issue 16)', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let github: Awaited<ReturnType<typeof startGithub>>;
  let ctx: TestContext;
  const browser = () => new Browser((url) => (url.origin === PUBLIC ? ctx.app : undefined));

  beforeAll(async () => {
    idp = await startIdp(clientFor('idp'));
    const gh = clientFor('github');
    github = await startGithub(gh);
    ctx = await createTestApp({
      env: {
        ...providerEnv('idp', idp.issuer),
        OAUTH_GITHUB_CLIENT_ID: gh.clientId,
        OAUTH_GITHUB_CLIENT_SECRET: gh.clientSecret,
      },
      deps: { githubEndpoints: github.endpoints },
    });
  }, 180_000);
  afterAll(async () => {
    await ctx?.close();
    await idp?.close();
    await github?.close();
  });

  it('an unconfigured provider is 404 not_found', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/auth/oauth/nosuch/start' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
  });

  it('start: 302 to the provider with PKCE S256, state and nonce, and a SameSite=Lax flow cookie', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/auth/oauth/idp/start' });
    expect(res.statusCode).toBe(302);
    const to = new URL(res.headers.location as string);
    expect(to.origin).toBe(idp.issuer);
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.get('code_challenge')).toBeTruthy();
    expect(to.searchParams.get('state')).toBeTruthy();
    expect(to.searchParams.get('nonce')).toBeTruthy();
    expect(to.searchParams.get('scope')).toBe('openid email profile');
    expect(to.searchParams.get('redirect_uri')).toBe(`${PUBLIC}/auth/oauth/idp/callback`);
    const cookie = [res.headers['set-cookie']].flat().find((c) => c?.startsWith('bastion_oauth='));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
  });

  it('a new person gets a new, verified account without a password, and a session', async () => {
    const email = uniqueEmail('new');
    const person = { sub: sub(), email, email_verified: true, name: 'Ada Lovelace' };
    idp.as(person);
    const b = browser();
    const { page } = await signIn(b, 'idp', '/orders?tab=1');
    expectSignedIn(page, '/orders?tab=1');
    const user = await userByEmail(ctx.database.db, email);
    expect(user?.display_name).toBe('Ada Lovelace');
    expect(user?.email_verified_at).not.toBeNull();
    expect(user?.password_hash).toBeNull();
    const rows = await identitiesOf(ctx.database.db, person.sub);
    expect(rows.map((r) => [r.user_id, r.issuer, r.email])).toEqual([
      [user?.id, idp.issuer, email],
    ]);
    // The session works, and the password door stays shut for an account without one.
    const token = await accessToken(ctx.app, b);
    const me = await ctx.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) });
    expect(me.json().id ?? me.json().user?.id).toBe(user?.id);
    const pw = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: 'any-password-at-all-here' },
    });
    expect(pw.statusCode).toBe(401);
    expect(pw.json().code).toBe('invalid_credentials');
  });

  it('a returning person signs in to the same account; a new email at the provider never moves the identity', async () => {
    const person = { sub: sub(), email: uniqueEmail('back'), email_verified: true };
    idp.as(person);
    expectSignedIn((await signIn(browser(), 'idp')).page);
    const first = await userByEmail(ctx.database.db, person.email);
    // Someone else holds the next address: the identity still signs in its own account.
    const other = await insertUser(ctx.database.db, {
      email: uniqueEmail('other'),
      passwordHash: 'x',
    });
    idp.as({ ...person, email: other.email });
    const b = browser();
    expectSignedIn((await signIn(b, 'idp')).page);
    const token = await accessToken(ctx.app, b);
    const me = await ctx.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) });
    expect(JSON.stringify(me.json())).toContain(first?.id);
    const rows = await identitiesOf(ctx.database.db, person.sub);
    expect(rows.map((r) => [r.user_id, r.email])).toEqual([[first?.id, other.email]]);
  });

  it('a verified local account is joined when the provider asserts the same email verified', async () => {
    const local = await insertUser(ctx.database.db, {
      email: uniqueEmail('Local'),
      passwordHash: 'x',
    });
    const person = { sub: sub(), email: local.email.toUpperCase(), email_verified: true };
    idp.as(person);
    expectSignedIn((await signIn(browser(), 'idp')).page);
    const rows = await identitiesOf(ctx.database.db, person.sub);
    expect(rows.map((r) => r.user_id)).toEqual([local.id]);
  });

  it('with MFA on, the callback sends the browser to the second step, not into a session', async () => {
    const local = await insertUser(ctx.database.db, {
      email: uniqueEmail('mfa'),
      passwordHash: 'x',
      mfaEnabled: true,
    });
    idp.as({ sub: sub(), email: local.email, email_verified: true });
    const { page } = await signIn(browser(), 'idp');
    expect(page.status).toBe(302);
    expect(page.location).toMatch(/^\/login\?mfa=1&returnTo=%2Faccount#mfaToken=.+/);
    expect(page.setCookies.some((c) => c.startsWith('bastion_mfa='))).toBe(true);
    expect(page.setCookies.some((c) => c.startsWith('bastion_refresh='))).toBe(false);
  });

  it('GET /auth/identities lists own identities; DELETE refuses the last sign-in method with 409', async () => {
    const person = { sub: sub(), email: uniqueEmail('ids'), email_verified: true };
    idp.as(person);
    const b = browser();
    expectSignedIn((await signIn(b, 'idp')).page);
    const token = await accessToken(ctx.app, b);
    const list = await ctx.app.inject({
      method: 'GET',
      url: '/auth/identities',
      headers: bearer(token),
    });
    expect(list.statusCode).toBe(200);
    const { items, nextCursor } = list.json();
    expect(nextCursor).toBeNull();
    expect(items).toEqual([
      expect.objectContaining({ provider: 'idp', subject: person.sub, email: person.email }),
    ]);
    const del = await ctx.app.inject({
      method: 'DELETE',
      url: `/auth/identities/${items[0].id}`,
      headers: bearer(token),
    });
    expect(del.statusCode).toBe(409);
    expect(del.json().code).toBe('last_sign_in_method');
    expect(await identitiesOf(ctx.database.db, person.sub)).toHaveLength(1);
  });

  it("DELETE /auth/identities/:id: another user's id is 404; with a password left, 204", async () => {
    const local = await insertUser(ctx.database.db, {
      email: uniqueEmail('pw'),
      passwordHash: 'x',
    });
    const mine = { sub: sub(), email: local.email, email_verified: true };
    idp.as(mine);
    const b = browser();
    expectSignedIn((await signIn(b, 'idp')).page);
    const token = await accessToken(ctx.app, b);
    idp.as({ sub: sub(), email: uniqueEmail('stranger'), email_verified: true });
    expectSignedIn((await signIn(browser(), 'idp')).page);
    const [theirs] = await ctx.database.db
      .selectFrom('identities')
      .selectAll()
      .where('user_id', '<>', local.id)
      .orderBy('id', 'desc')
      .limit(1)
      .execute();
    const notMine = await ctx.app.inject({
      method: 'DELETE',
      url: `/auth/identities/${theirs?.id}`,
      headers: bearer(token),
    });
    expect(notMine.statusCode).toBe(404);
    const [own] = await identitiesOf(ctx.database.db, mine.sub);
    const del = await ctx.app.inject({
      method: 'DELETE',
      url: `/auth/identities/${own?.id}`,
      headers: bearer(token),
    });
    expect(del.statusCode).toBe(204);
    expect(await identitiesOf(ctx.database.db, mine.sub)).toHaveLength(0);
  });

  it('a returnTo that is not a same-origin relative path becomes /account', async () => {
    for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      idp.as({ sub: sub(), email: uniqueEmail('ret'), email_verified: true });
      expectSignedIn((await signIn(browser(), 'idp', evil)).page, '/account');
    }
  });

  it('GitHub: the numeric id is the subject and the verified primary email signs up', async () => {
    const email = uniqueEmail('gh');
    const id = 100_000 + Math.floor(Math.random() * 1e6);
    github.as({
      id,
      login: 'octo',
      name: 'Octo Cat',
      emails: [
        { email: uniqueEmail('secondary'), primary: false, verified: true },
        { email, primary: true, verified: true },
      ],
    });
    const { page } = await signIn(browser(), 'github');
    expectSignedIn(page);
    const user = await userByEmail(ctx.database.db, email);
    expect(user?.email_verified_at).not.toBeNull();
    const rows = await identitiesOf(ctx.database.db, String(id));
    expect(rows.map((r) => [r.issuer, r.user_id])).toEqual([['https://github.com', user?.id]]);
  });

  it('GitHub: an unverified primary email does not join the local account that has it', async () => {
    const local = await insertUser(ctx.database.db, {
      email: uniqueEmail('ghlocal'),
      passwordHash: 'x',
    });
    const id = 2_000_000 + Math.floor(Math.random() * 1e6);
    github.as({
      id,
      login: 'mallory',
      name: null,
      emails: [{ email: local.email, primary: true, verified: false }],
    });
    expectRefused((await signIn(browser(), 'github')).page, 'oauth_email_unverified');
    expect(await identitiesOf(ctx.database.db, String(id))).toHaveLength(0);
  });
});
