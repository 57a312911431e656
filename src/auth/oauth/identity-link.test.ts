/**
 * Linking a provider from a signed-in session (issue 16): `POST /auth/identities/link` hands out
 * a single-use grant that only the session's own browser can spend; the callback links the
 * identity to that account, whatever email the provider asserts. The attacks on it are in
 * identity-link.attack.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, uniqueEmail } from '../../../test/support/auth.js';
import { Browser, startGithub, startIdp } from '../../../test/support/social.js';
import {
  clientFor,
  expectSignedIn,
  identitiesOf,
  PUBLIC,
  providerEnv,
  signIn,
} from '../../../test/support/social-app.js';
import { signedInBrowserToken, startLink } from '../../../test/support/social-link.js';
import { manualClock } from '../../platform/clock.js';

const sub = () => `sub-${randomBytes(6).toString('hex')}`;

describe('linking a provider to the signed-in account (issue 16)', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let github: Awaited<ReturnType<typeof startGithub>>;
  let ctx: TestContext;
  const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);
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
      deps: { githubEndpoints: github.endpoints, clock },
    });
  }, 180_000);
  afterAll(async () => {
    await ctx?.close();
    await idp?.close();
    await github?.close();
  });

  it('links GitHub to an account signed in with the IdP, whatever address GitHub has; GitHub then signs in that account', async () => {
    const person = { sub: sub(), email: uniqueEmail('linker'), email_verified: true };
    idp.as(person);
    const b = browser();
    expectSignedIn((await signIn(b, 'idp')).page);
    const [own] = await identitiesOf(ctx.database.db, person.sub);
    const userId = own?.user_id as string;

    // Another address, not even verified: the signed-in person proved both sides.
    const ghId = 700_000 + Math.floor(Math.random() * 100_000);
    github.as({
      id: ghId,
      login: 'linker',
      name: null,
      emails: [{ email: uniqueEmail('elsewhere'), primary: true, verified: false }],
    });
    const token = await signedInBrowserToken(ctx.app, b);
    const page = await startLink(ctx.app, b, token, 'github', '/account?tab=identities');
    expect(page.status, page.body.slice(0, 200)).toBe(200);
    expect(page.body).toContain('content="0;url=/account?tab=identities"');

    const linked = await identitiesOf(ctx.database.db, String(ghId));
    expect(linked.map((r) => [r.user_id, r.provider])).toEqual([[userId, 'github']]);
    const list = await ctx.app.inject({
      method: 'GET',
      url: '/auth/identities',
      headers: bearer(token),
    });
    expect(
      list
        .json()
        .items.map((i: { provider: string }) => i.provider)
        .sort(),
    ).toEqual(['github', 'idp']);
    const audit = await ctx.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_id', '=', userId)
      .execute();
    expect(audit.map((a) => a.action)).toContain('account.identity_linked');
    const events = await ctx.database.db
      .selectFrom('security_events')
      .select('type')
      .where('user_id', '=', userId)
      .execute();
    expect(events.map((e) => e.type)).toContain('identity_linked');

    // GitHub alone now signs in the same account.
    const other = browser();
    expectSignedIn((await signIn(other, 'github')).page);
    const otherToken = await signedInBrowserToken(ctx.app, other);
    const me = await ctx.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: bearer(otherToken),
    });
    expect(JSON.stringify(me.json())).toContain(userId);

    // The admin's user list shows both providers of the account.
    const admin = await createAdmin(ctx.app, ctx.database.db, clock);
    const found = await ctx.app.inject({
      method: 'GET',
      url: `/admin/users?query=${encodeURIComponent(person.email)}`,
      headers: bearer(admin.accessToken),
    });
    expect(found.statusCode).toBe(200);
    const [row] = found.json().items;
    expect(row.id).toBe(userId);
    expect(row.identities.map((i: { provider: string }) => i.provider)).toEqual(['idp', 'github']);
  });

  it('linking an identity the account already has changes nothing and succeeds', async () => {
    const person = { sub: sub(), email: uniqueEmail('again'), email_verified: true };
    idp.as(person);
    const b = browser();
    expectSignedIn((await signIn(b, 'idp')).page);
    const token = await signedInBrowserToken(ctx.app, b);
    const page = await startLink(ctx.app, b, token, 'idp');
    expect(page.status).toBe(200);
    expect(page.body).toContain('content="0;url=/account"');
    expect(await identitiesOf(ctx.database.db, person.sub)).toHaveLength(1);
  });

  it('POST /auth/identities/link: an unconfigured provider is 404; a bad body is 400', async () => {
    idp.as({ sub: sub(), email: uniqueEmail('bad'), email_verified: true });
    const b = browser();
    expectSignedIn((await signIn(b, 'idp')).page);
    const token = await signedInBrowserToken(ctx.app, b);
    const missing = await ctx.app.inject({
      method: 'POST',
      url: '/auth/identities/link',
      headers: bearer(token),
      payload: { provider: 'nosuch' },
    });
    expect(missing.statusCode).toBe(404);
    const bad = await ctx.app.inject({
      method: 'POST',
      url: '/auth/identities/link',
      headers: bearer(token),
      payload: { provider: 'GitHub!' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('validation_failed');
  });
});
