/**
 * Attacks on linking a provider to a signed-in account (issue 16). A link grant is a way into an
 * account: whoever spends it attaches their provider account to the grant's account. So the grant
 * is spent only by the browser holding the asking session's refresh cookie, once, for the named
 * provider, while that session lives; an identity already linked elsewhere never moves.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { bearer, uniqueEmail } from '../../../test/support/auth.js';
import { Browser, type Page, startGithub, startIdp } from '../../../test/support/social.js';
import {
  clientFor,
  expectSignedIn,
  identitiesOf,
  PUBLIC,
  providerEnv,
  signIn,
} from '../../../test/support/social-app.js';
import { followLink, linkUrl, signedInBrowserToken } from '../../../test/support/social-link.js';
import { manualClock } from '../../platform/clock.js';

const sub = () => `sub-${randomBytes(6).toString('hex')}`;
const ghId = () => 800_000 + Math.floor(Math.random() * 100_000);

function expectLinkRefused(page: Page, code: string) {
  expect({ status: page.status, location: page.location }).toEqual({
    status: 302,
    location: `/account?error=${code}`,
  });
}

describe('attacks on linking a provider (issue 16)', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let github: Awaited<ReturnType<typeof startGithub>>;
  let ctx: TestContext;
  const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
  const browser = () => new Browser((url) => (url.origin === PUBLIC ? ctx.app : undefined));

  /** A person signed in with the IdP in their own browser, and their session's access token. */
  async function victim() {
    const person = { sub: sub(), email: uniqueEmail('victim'), email_verified: true };
    idp.as(person);
    const b = browser();
    expectSignedIn((await signIn(b, 'idp')).page);
    const token = await signedInBrowserToken(ctx.app, b);
    const [row] = await identitiesOf(ctx.database.db, person.sub);
    return { browser: b, token, userId: row?.user_id as string };
  }

  function asGithub(id: number) {
    github.as({
      id,
      login: `gh${id}`,
      name: null,
      emails: [{ email: uniqueEmail('gh'), primary: true, verified: true }],
    });
  }

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

  it("a leaked grant URL opened in the attacker's browser links nothing", async () => {
    const v = await victim();
    const url = await linkUrl(ctx.app, v.token, 'github');
    const attackerGh = ghId();
    asGithub(attackerGh);
    expectLinkRefused(await followLink(browser(), url), 'oauth_link_invalid');
    // The grant was spent by the refusal: the victim's own browser cannot use it either.
    expectLinkRefused(await followLink(v.browser, url), 'oauth_link_invalid');
    expect(await identitiesOf(ctx.database.db, String(attackerGh))).toEqual([]);
  });

  it("another signed-in person's browser cannot spend the victim's grant", async () => {
    const v = await victim();
    const attacker = await victim();
    const url = await linkUrl(ctx.app, v.token, 'github');
    const attackerGh = ghId();
    asGithub(attackerGh);
    expectLinkRefused(await followLink(attacker.browser, url), 'oauth_link_invalid');
    expect(await identitiesOf(ctx.database.db, String(attackerGh))).toEqual([]);
  });

  it('a grant works once, and only for the provider it names', async () => {
    const v = await victim();
    const url = await linkUrl(ctx.app, v.token, 'github');
    const forIdp = new URL(url);
    forIdp.pathname = '/auth/oauth/idp/start';
    expectLinkRefused(await followLink(v.browser, forIdp.href), 'oauth_link_invalid');

    const second = await linkUrl(ctx.app, v.token, 'github');
    const id = ghId();
    asGithub(id);
    expect((await followLink(v.browser, second)).status).toBe(200);
    expectLinkRefused(await followLink(v.browser, second), 'oauth_link_invalid');
    expect((await identitiesOf(ctx.database.db, String(id))).map((r) => r.user_id)).toEqual([
      v.userId,
    ]);
  });

  it('an identity linked to another account stays there (oauth_identity_in_use)', async () => {
    const owner = await victim();
    const id = ghId();
    asGithub(id);
    expect(
      (await followLink(owner.browser, await linkUrl(ctx.app, owner.token, 'github'))).status,
    ).toBe(200);

    const thief = await victim();
    asGithub(id);
    const page = await followLink(thief.browser, await linkUrl(ctx.app, thief.token, 'github'));
    // The refusal comes from the callback, after the provider: the page is still the account's.
    expect(page.status).toBe(302);
    expect(page.location).toBe('/account?error=oauth_identity_in_use');
    expect((await identitiesOf(ctx.database.db, String(id))).map((r) => r.user_id)).toEqual([
      owner.userId,
    ]);
  });

  it('a session that ends while the person is at the provider links nothing', async () => {
    const v = await victim();
    const url = await linkUrl(ctx.app, v.token, 'github');
    const start = await v.browser.get(url);
    expect(start.status).toBe(302);
    const id = ghId();
    asGithub(id);
    const callback = await v.browser.followUntil(
      start.location as string,
      (u) => u.origin === PUBLIC,
    );
    const out = await ctx.app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(v.token),
    });
    expect(out.statusCode).toBe(204);
    const page = await v.browser.get(callback);
    expect(page.location).toBe('/account?error=oauth_link_invalid');
    expect(await identitiesOf(ctx.database.db, String(id))).toEqual([]);
  });

  it('asking for a grant needs a bearer token and a recent login', async () => {
    const anonymous = await ctx.app.inject({
      method: 'POST',
      url: '/auth/identities/link',
      payload: { provider: 'github' },
    });
    expect(anonymous.statusCode).toBe(401);
    const v = await victim();
    clock.advance(6 * 60 * 1000);
    try {
      const stale = await ctx.app.inject({
        method: 'POST',
        url: '/auth/identities/link',
        headers: bearer(v.token),
        payload: { provider: 'github' },
      });
      expect(stale.statusCode).toBe(401);
      expect(stale.json().code).toBe('reauthentication_required');
    } finally {
      clock.advance(-6 * 60 * 1000);
    }
  });

  it('a forged grant is refused before the provider is asked', async () => {
    const v = await victim();
    const page = await v.browser.get(
      `${PUBLIC}/auth/oauth/github/start?link=${randomBytes(32).toString('base64url')}`,
    );
    expectLinkRefused(page, 'oauth_link_invalid');
  });
});
