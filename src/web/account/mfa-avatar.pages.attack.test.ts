/**
 * The `/account` two-step verification and avatar forms (issue 15) under attack, at the HTTP
 * level: each MFA form refuses a missing or foreign `_csrf` (403 `csrf_failed`, nothing changes);
 * turning MFA off needs a sign-in within 5 minutes; a wrong code at the confirm step leaves MFA
 * off; the avatar form refuses a missing or foreign `_csrf` and a non-image with the API's code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountTestEnv, BUILD_TIMEOUT_MS, userByEmail } from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import {
  cookieHeader,
  type LoggedIn,
  login,
  registerAndVerify,
  STRONG_PASSWORD,
  uniqueEmail,
} from '../../../test/support/auth.js';
import { solidImage } from '../../../test/support/images.js';
import { enrolTotp, freshCode, wrongCode } from '../../../test/support/mfa.js';
import { multipart, type Part } from '../../../test/support/multipart.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { codeAt } from '../../auth/mfa/totp.js';
import { manualClock } from '../../platform/clock.js';

const clock = manualClock(Math.floor(Date.now() / 30_000) * 30_000);
const STALE_MS = 6 * 60 * 1000;

let smtp: TestSmtp;
let ctx: TestContext;

beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: accountTestEnv(smtp), deps: { clock } });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

interface PageUser extends LoggedIn {
  readonly browserCookie: string;
  readonly csrf: string;
}

/** Registers, signs in through the API (the page session is the same) and opens /account. */
async function pageUser(): Promise<PageUser> {
  const { email } = await registerAndVerify(ctx.app, smtp, { email: uniqueEmail('mfa-page') });
  const session = await login(ctx.app, email, STRONG_PASSWORD);
  const page = await ctx.app.inject({
    method: 'GET',
    url: '/account',
    headers: { cookie: session.cookie },
  });
  expect(page.statusCode).toBe(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  expect(csrf).not.toBe('');
  const browserCookie = `${session.cookie}; ${cookieHeader(page.headers['set-cookie'])}`;
  return { ...session, browserCookie, csrf };
}

function post(user: PageUser, url: string, form: Record<string, string>) {
  return ctx.app.inject({
    method: 'POST',
    url,
    headers: {
      cookie: user.browserCookie,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams(form).toString(),
  });
}

function upload(user: PageUser, parts: Part[]) {
  const body = multipart(parts);
  return ctx.app.inject({
    method: 'POST',
    url: '/account/avatar',
    headers: { cookie: user.browserCookie, 'sec-fetch-site': 'same-origin', ...body.headers },
    payload: body.payload,
  });
}

async function mfaState(email: string) {
  const user = await userByEmail(ctx.database.db, email);
  return { enabled: user?.mfa_enabled, pending: user?.totp_pending_sealed ?? null };
}

describe('MFA and avatar forms on /account under attack (issue 15)', () => {
  it(
    'each MFA form without `_csrf` or with a foreign one is 403 csrf_failed and changes nothing',
    async () => {
      const off = await pageUser();
      const on = await pageUser();
      const attacker = await pageUser();
      const { secret } = await enrolTotp(ctx.app, on.accessToken, clock);
      const cases: [PageUser, string, Record<string, string>][] = [
        [off, '/account/mfa/setup', {}],
        [off, '/account/mfa/confirm', { code: '123456' }],
        [on, '/account/mfa/recovery-codes', { code: freshCode(secret, clock) }],
        [on, '/account/mfa/disable', { code: freshCode(secret, clock) }],
      ];
      for (const [user, url, form] of cases) {
        for (const csrf of [undefined, attacker.csrf]) {
          const res = await post(user, url, csrf === undefined ? form : { ...form, _csrf: csrf });
          expect(res.statusCode, `${url} ${csrf ? 'foreign' : 'missing'}`).toBe(403);
          expect(res.body).toContain('csrf_failed');
          expect(res.headers['content-type']).toMatch(/^text\/html/);
        }
      }
      expect(await mfaState(off.email)).toEqual({ enabled: false, pending: null });
      expect((await mfaState(on.email)).enabled).toBe(true);
      // The same forms with this browser's token do work (the refusals above were the token's).
      const setup = await post(off, '/account/mfa/setup', { _csrf: off.csrf });
      expect(setup.statusCode).toBe(200);
      expect(setup.headers['cache-control']).toContain('no-store');
      expect((await mfaState(off.email)).pending).not.toBeNull();
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'the confirm step refuses a wrong code and MFA stays off; the right code turns it on once',
    async () => {
      const user = await pageUser();
      const setup = await post(user, '/account/mfa/setup', { _csrf: user.csrf });
      expect(setup.statusCode).toBe(200);
      const secret = /<code id="totp-secret">([A-Z2-7]+)<\/code>/.exec(setup.body)?.[1] ?? '';
      expect(secret).not.toBe('');
      expect(setup.body).toMatch(
        /<img id="totp-qr" src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+"/,
      );

      const wrong = await post(user, '/account/mfa/confirm', {
        _csrf: user.csrf,
        code: wrongCode(secret, clock.now()),
      });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.body).toContain('invalid_mfa_code');
      expect(wrong.body).not.toContain('id="recovery-codes"');
      expect((await mfaState(user.email)).enabled).toBe(false);

      const right = await post(user, '/account/mfa/confirm', {
        _csrf: user.csrf,
        code: codeAt(secret, clock.now()),
      });
      expect(right.statusCode).toBe(200);
      expect(right.headers['cache-control']).toContain('no-store');
      expect(right.body.match(/<li><code>/g)?.length).toBeGreaterThanOrEqual(8);
      expect((await mfaState(user.email)).enabled).toBe(true);
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'turning MFA off with a sign-in older than 5 minutes is refused and MFA stays on',
    async () => {
      const user = await pageUser();
      const { secret } = await enrolTotp(ctx.app, user.accessToken, clock);
      clock.advance(STALE_MS);
      const res = await post(user, '/account/mfa/disable', {
        _csrf: user.csrf,
        code: freshCode(secret, clock),
      });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/account?error=reauthentication_required');
      expect((await mfaState(user.email)).enabled).toBe(true);
      const regen = await post(user, '/account/mfa/recovery-codes', {
        _csrf: user.csrf,
        code: freshCode(secret, clock),
      });
      expect(regen.headers.location).toBe('/account?error=reauthentication_required');
      // A fresh sign-in (the password and the MFA step through the API) may turn it off.
      const page = await ctx.app.inject({
        method: 'GET',
        url: '/account?error=reauthentication_required',
        headers: { cookie: user.browserCookie },
      });
      expect(page.body).toContain('reauthentication_required');
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'the avatar form refuses a missing or foreign `_csrf` (403) and a non-image with the API code',
    async () => {
      const user = await pageUser();
      const attacker = await pageUser();
      const png = await solidImage(64, 64);
      const file: Part = { name: 'file', filename: 'me.png', contentType: 'image/png', data: png };
      for (const parts of [[file], [{ name: '_csrf', data: attacker.csrf }, file]]) {
        const res = await upload(user, parts);
        expect(res.statusCode).toBe(403);
        expect(res.body).toContain('csrf_failed');
      }
      expect((await userByEmail(ctx.database.db, user.email))?.avatar_url).toBeNull();

      const text: Part = {
        name: 'file',
        filename: 'me.png',
        contentType: 'image/png',
        data: 'not an image at all, just text',
      };
      const refused = await upload(user, [{ name: '_csrf', data: user.csrf }, text]);
      const apiBody = multipart([text]);
      const api = await ctx.app.inject({
        method: 'PUT',
        url: '/users/me/avatar',
        headers: { authorization: `Bearer ${user.accessToken}`, ...apiBody.headers },
        payload: apiBody.payload,
      });
      expect(api.statusCode).toBeGreaterThanOrEqual(400);
      const apiCode = (api.json() as { code: string }).code;
      expect(refused.statusCode).toBe(api.statusCode);
      expect(refused.headers['content-type']).toMatch(/^text\/html/);
      expect(refused.body).toContain(`<code>${apiCode}</code>`);
      expect((await userByEmail(ctx.database.db, user.email))?.avatar_url).toBeNull();

      const ok = await upload(user, [{ name: '_csrf', data: user.csrf }, file]);
      expect(ok.statusCode).toBe(303);
      const avatar = (await userByEmail(ctx.database.db, user.email))?.avatar_url;
      expect(avatar).toMatch(/^\/media\/.+\.webp$/);
      expect(ok.headers.location).toBe('/account?done=avatar');
      const account = await ctx.app.inject({
        method: 'GET',
        url: '/account?done=avatar',
        headers: { cookie: user.browserCookie },
      });
      expect(account.body).toContain(`<img id="avatar" src="${avatar}"`);
      // Multipart is parsed only on the avatar route: another page form refuses it.
      const form = multipart([
        { name: '_csrf', data: user.csrf },
        { name: 'displayName', data: 'Multipart Name' },
      ]);
      const other = await ctx.app.inject({
        method: 'POST',
        url: '/account/profile',
        headers: { cookie: user.browserCookie, 'sec-fetch-site': 'same-origin', ...form.headers },
        payload: form.payload,
      });
      expect(other.statusCode).toBe(415);
    },
    BUILD_TIMEOUT_MS,
  );
});
