/**
 * The account page's link and unlink forms (issue 16) under attack: a form without this browser's
 * `_csrf` is refused, a sign-in older than 5 minutes cannot change the ways in, and another
 * account's identity cannot be unlinked.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { uniqueEmail } from '../../../test/support/auth.js';
import { Browser, startIdp } from '../../../test/support/social.js';
import {
  clientFor,
  expectSignedIn,
  identitiesOf,
  PUBLIC,
  providerEnv,
  signIn,
} from '../../../test/support/social-app.js';
import { manualClock } from '../../platform/clock.js';

const sub = () => `sub-${randomBytes(6).toString('hex')}`;

describe('account page: link and unlink forms under attack (issue 16)', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let ctx: TestContext;
  const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
  const browser = () => new Browser((url) => (url.origin === PUBLIC ? ctx.app : undefined));

  /** A person signed in with the IdP; their browser, the form token of /account, the identity. */
  async function person() {
    const claims = { sub: sub(), email: uniqueEmail('page'), email_verified: true };
    idp.as(claims);
    const b = browser();
    expectSignedIn((await signIn(b, 'idp')).page);
    const page = await b.get(`${PUBLIC}/account`);
    expect(page.status).toBe(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    expect(csrf).not.toBe('');
    const [identity] = await identitiesOf(ctx.database.db, claims.sub);
    return { b, csrf, identityId: identity?.id as string };
  }

  function post(b: Browser, url: string, form: Record<string, string>) {
    const cookie = ['bastion_refresh', 'bastion_csrf', 'bastion_form']
      .map((name) => [name, b.cookie(PUBLIC, name)])
      .filter(([, v]) => v)
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
    return ctx.app.inject({
      method: 'POST',
      url,
      headers: {
        cookie,
        origin: PUBLIC,
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: new URLSearchParams(form).toString(),
    });
  }

  beforeAll(async () => {
    idp = await startIdp(clientFor('idp'));
    ctx = await createTestApp({ env: providerEnv('idp', idp.issuer), deps: { clock } });
  }, 180_000);
  afterAll(async () => {
    await ctx?.close();
    await idp?.close();
  });

  it('a fresh sign-in with its own token gets the provider start (a page, not a form redirect)', async () => {
    const { b, csrf } = await person();
    const res = await post(b, '/account/identities/link', { _csrf: csrf, provider: 'idp' });
    expect(res.statusCode).toBe(200);
    // The start URL, HTML-escaped in the page's meta refresh.
    expect(res.body).toMatch(/url=\/auth\/oauth\/idp\/start\?link=[\w-]+&#38;returnTo=%2Faccount"/);
  });

  it('a missing or foreign `_csrf` is refused with 403 csrf_failed', async () => {
    const victim = await person();
    const attacker = await person();
    const forms: Record<string, string>[] = [
      { provider: 'idp' },
      { provider: 'idp', _csrf: attacker.csrf },
    ];
    for (const form of forms) {
      const res = await post(victim.b, '/account/identities/link', form);
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('csrf_failed');
    }
    const unlink = await post(victim.b, `/account/identities/${victim.identityId}/unlink`, {
      _csrf: attacker.csrf,
    });
    expect(unlink.statusCode).toBe(403);
  });

  it('a sign-in older than 5 minutes cannot link or unlink', async () => {
    const { b, csrf, identityId } = await person();
    clock.advance(6 * 60 * 1000);
    try {
      const forms: [string, Record<string, string>][] = [
        ['/account/identities/link', { _csrf: csrf, provider: 'idp' }],
        [`/account/identities/${identityId}/unlink`, { _csrf: csrf }],
      ];
      for (const [url, form] of forms) {
        const res = await post(b, url, form);
        expect(res.statusCode, url).toBe(303);
        expect(res.headers.location).toBe('/account?error=reauthentication_required');
      }
    } finally {
      clock.advance(-6 * 60 * 1000);
    }
    expect(
      await ctx.database.db
        .selectFrom('identities')
        .select('id')
        .where('id', '=', identityId)
        .execute(),
    ).toHaveLength(1);
  });

  it("another account's identity cannot be unlinked (404), and stays", async () => {
    const victim = await person();
    const attacker = await person();
    const res = await post(attacker.b, `/account/identities/${victim.identityId}/unlink`, {
      _csrf: attacker.csrf,
    });
    expect(res.statusCode).toBe(404);
    const rows = await ctx.database.db
      .selectFrom('identities')
      .select('id')
      .where('id', '=', victim.identityId)
      .execute();
    expect(rows).toHaveLength(1);
  });
});
