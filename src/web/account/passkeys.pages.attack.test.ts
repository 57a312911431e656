/**
 * Passkeys on `/account` under attack (issue 15), at the HTTP level with a software authenticator:
 * the page's JSON routes for "Add a passkey" refuse a missing, foreign or cross-site `_csrf`, a
 * browser without a session and a stale sign-in, and take a challenge only from the account it
 * was issued to; the rename and remove forms refuse a missing token and another user's passkey
 * (404, nothing changes), removal needs a recent sign-in; a hostile passkey name is inert text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountTestEnv, BUILD_TIMEOUT_MS } from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import {
  cookieHeader,
  type LoggedIn,
  login,
  registerAndVerify,
  STRONG_PASSWORD,
  uniqueEmail,
} from '../../../test/support/auth.js';
import { addPasskey, SoftAuthenticator } from '../../../test/support/passkeys.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { manualClock } from '../../platform/clock.js';

const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);
const STALE_MS = 6 * 60 * 1000;
const PUBLIC_URL = 'http://localhost:3000';

let smtp: TestSmtp;
let ctx: TestContext;

beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({
    env: { ...accountTestEnv(smtp), PUBLIC_URL },
    deps: { clock },
  });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

interface PageUser extends LoggedIn {
  readonly browserCookie: string;
  readonly csrf: string;
}

/** Signs in (the page session is the API's) and opens /account for its form token. */
async function pageUser(): Promise<PageUser> {
  const { email } = await registerAndVerify(ctx.app, smtp, {
    email: uniqueEmail('passkey-page'),
  });
  const session = await login(ctx.app, email, STRONG_PASSWORD);
  const page = await ctx.app.inject({
    method: 'GET',
    url: '/account',
    headers: { cookie: session.cookie },
  });
  expect(page.statusCode).toBe(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  expect(csrf).not.toBe('');
  return {
    ...session,
    browserCookie: `${session.cookie}; ${cookieHeader(page.headers['set-cookie'])}`,
    csrf,
  };
}

function postJson(cookie: string, url: string, body: unknown, site = 'same-origin') {
  return ctx.app.inject({
    method: 'POST',
    url,
    headers: { cookie, 'sec-fetch-site': site, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
}

function postForm(cookie: string, url: string, form: Record<string, string>) {
  return ctx.app.inject({
    method: 'POST',
    url,
    headers: {
      cookie,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams(form).toString(),
  });
}

async function passkeyRows(userId: string) {
  return ctx.database.db
    .selectFrom('passkeys')
    .select(['id', 'name'])
    .where('user_id', '=', userId)
    .execute();
}

/** Adds a passkey through the page's two JSON routes, as the account page's script does. */
async function addThroughPage(user: PageUser, auth: SoftAuthenticator, name?: string) {
  const options = await postJson(user.browserCookie, '/account/passkeys/options', {
    _csrf: user.csrf,
  });
  expect(options.statusCode, options.body).toBe(200);
  const made = auth.create(options.json());
  return postJson(user.browserCookie, '/account/passkeys', {
    _csrf: user.csrf,
    name,
    response: made.response,
  });
}

describe('"Add a passkey" (the page script\'s JSON routes)', () => {
  it("adds a passkey for this browser's account, audited like the API", async () => {
    const user = await pageUser();
    const res = await addThroughPage(user, new SoftAuthenticator(PUBLIC_URL), 'Desk key');
    expect(res.statusCode, res.body).toBe(201);
    expect(await passkeyRows(user.userId)).toEqual([{ id: res.json().id, name: 'Desk key' }]);
    const audit = await ctx.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_id', '=', user.userId)
      .where('action', '=', 'account.passkey_added')
      .execute();
    expect(audit).toHaveLength(1);
  });

  it('refuses a missing, foreign or cross-site _csrf (403 csrf_failed), before any challenge', async () => {
    const user = await pageUser();
    const other = await pageUser();
    const cases = [
      postJson(user.browserCookie, '/account/passkeys/options', {}),
      postJson(user.browserCookie, '/account/passkeys/options', { _csrf: other.csrf }),
      postJson(user.browserCookie, '/account/passkeys/options', { _csrf: user.csrf }, 'cross-site'),
      postJson(user.browserCookie, '/account/passkeys', { _csrf: other.csrf, response: {} }),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json().code).toBe('csrf_failed');
    }
    expect(await passkeyRows(user.userId)).toEqual([]);
  });

  it('needs a session (401 unauthorized) and a sign-in within 5 minutes (401 reauthentication_required)', async () => {
    const user = await pageUser();
    const formOnly = user.browserCookie
      .split('; ')
      .filter((c) => c.startsWith('bastion_form='))
      .join('; ');
    const anonymous = await postJson(formOnly, '/account/passkeys/options', { _csrf: user.csrf });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().code).toBe('unauthorized');

    const options = await postJson(user.browserCookie, '/account/passkeys/options', {
      _csrf: user.csrf,
    });
    expect(options.statusCode).toBe(200);
    const made = new SoftAuthenticator(PUBLIC_URL).create(options.json());
    clock.advance(STALE_MS);
    try {
      for (const res of [
        await postJson(user.browserCookie, '/account/passkeys/options', { _csrf: user.csrf }),
        await postJson(user.browserCookie, '/account/passkeys', {
          _csrf: user.csrf,
          response: made.response,
        }),
      ]) {
        expect(res.statusCode).toBe(401);
        expect(res.json().code).toBe('reauthentication_required');
      }
    } finally {
      clock.advance(-STALE_MS);
    }
    expect(await passkeyRows(user.userId)).toEqual([]);
  });

  it("takes only this account's challenge: another account's options do not register here", async () => {
    const victim = await pageUser();
    const attacker = await pageUser();
    const options = await postJson(attacker.browserCookie, '/account/passkeys/options', {
      _csrf: attacker.csrf,
    });
    const made = new SoftAuthenticator(PUBLIC_URL).create(options.json());
    const res = await postJson(victim.browserCookie, '/account/passkeys', {
      _csrf: victim.csrf,
      response: made.response,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('passkey_challenge_invalid');
    expect(await passkeyRows(victim.userId)).toEqual([]);
  });
});

describe('rename and remove forms', () => {
  it("another user's passkey is a 404 and stays as it was; a form without _csrf is 403", async () => {
    const owner = await pageUser();
    const intruder = await pageUser();
    const { id } = await addPasskey(ctx.app, owner.accessToken, new SoftAuthenticator(PUBLIC_URL));
    const before = await passkeyRows(owner.userId);

    const rename = await postForm(intruder.browserCookie, `/account/passkeys/${id}/rename`, {
      _csrf: intruder.csrf,
      name: 'Taken over',
    });
    expect(rename.statusCode).toBe(404);
    const remove = await postForm(intruder.browserCookie, `/account/passkeys/${id}/remove`, {
      _csrf: intruder.csrf,
    });
    expect(remove.statusCode).toBe(404);
    const noToken = await postForm(owner.browserCookie, `/account/passkeys/${id}/remove`, {});
    expect(noToken.statusCode).toBe(403);
    expect(noToken.body).toContain('csrf_failed');
    expect(await passkeyRows(owner.userId)).toEqual(before);
  });

  it('removal needs a sign-in within 5 minutes; renaming and removing then work', async () => {
    const user = await pageUser();
    const { id } = await addPasskey(ctx.app, user.accessToken, new SoftAuthenticator(PUBLIC_URL));
    clock.advance(STALE_MS);
    try {
      const stale = await postForm(user.browserCookie, `/account/passkeys/${id}/remove`, {
        _csrf: user.csrf,
      });
      expect(stale.statusCode).toBe(303);
      expect(stale.headers.location).toBe('/account?error=reauthentication_required');
      expect(await passkeyRows(user.userId)).toHaveLength(1);
    } finally {
      clock.advance(-STALE_MS);
    }
    const renamed = await postForm(user.browserCookie, `/account/passkeys/${id}/rename`, {
      _csrf: user.csrf,
      name: 'Phone',
    });
    expect(renamed.headers.location).toBe('/account?done=passkey_renamed');
    expect(await passkeyRows(user.userId)).toEqual([{ id, name: 'Phone' }]);
    const removed = await postForm(user.browserCookie, `/account/passkeys/${id}/remove`, {
      _csrf: user.csrf,
    });
    expect(removed.headers.location).toBe('/account?done=passkey_removed');
    expect(await passkeyRows(user.userId)).toEqual([]);
  });

  it('a hostile passkey name is shown as text on /account', async () => {
    const user = await pageUser();
    const hostile = '<img src=x onerror=alert(1)>';
    const res = await addThroughPage(user, new SoftAuthenticator(PUBLIC_URL), hostile);
    expect(res.statusCode).toBe(201);
    const page = await ctx.app.inject({
      method: 'GET',
      url: '/account',
      headers: { cookie: user.browserCookie },
    });
    expect(page.body).not.toContain(hostile);
    expect(page.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});
