/**
 * Accounts (issue 3): register, verify, log in, forgot / reset / change password and /auth/me,
 * with mail through a real SMTP server, the password policy through the API, and the hashes as
 * stored. Attacks on the same routes are in accounts.attack.test.ts.
 */
import * as argon2 from '@node-rs/argon2';
import * as bcrypt from '@node-rs/bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  expectProblem,
  expectWeakPassword,
  insertUser,
  linkToken,
  post,
  storedHash,
  userByEmail,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { createTestApp, TEST_ARGON2, type TestContext } from '../../../test/support/app.js';
import {
  bearer,
  cookieValue,
  login,
  registerAndVerify,
  STRONG_PASSWORD,
  signUp,
  uniqueEmail,
} from '../../../test/support/auth.js';
import { type ReceivedMail, startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { sha256Hex } from '../../platform/crypto.js';

const SELF_VIEW_KEYS = [
  'avatarUrl',
  'createdAt',
  'displayName',
  'email',
  'emailVerified',
  'id',
  'locked',
  'mfaEnabled',
  'roles',
].sort();
const NEW_PASSWORD = 'granite heron folds nine maps';
const PASSPHRASE = 'purple tractor whispers at dawn';
/** `argon2.Algorithm.Argon2id` (a const enum the typings do not let isolatedModules use). */
const ARGON2ID = 2;

let ctx: TestContext;
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startTestSmtp();
  ctx = await createTestApp({ env: accountTestEnv(smtp) });
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

const register = (email: string, password: string, displayName = 'Test User') =>
  post(ctx.app, '/auth/register', { email, password, displayName });
const loginRes = (email: string, password: string) =>
  post(ctx.app, '/auth/login', { email, password });
const me = (accessToken: string) =>
  ctx.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(accessToken) });
const refresh = (session: { cookie: string; csrfToken: string }) =>
  ctx.app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
  });

async function forgotAndGetToken(email: string): Promise<string> {
  const res = await post(ctx.app, '/auth/password/forgot', { email });
  expect(res.statusCode).toBe(202);
  return linkToken(await waitForAccountMail(smtp, email, 'reset'), 'reset');
}

/** Long random-looking strings in a body: a mail may carry the link token and nothing else. */
function secretLookingStrings(body: string): string[] {
  return [...new Set(body.match(/[A-Za-z0-9_-]{32,}/g) ?? [])];
}

function expectNoSecretBut(mail: ReceivedMail, allowed: string[], forbidden: string[]) {
  for (const body of [mail.text, mail.html]) {
    expect(secretLookingStrings(body).sort()).toEqual([...allowed].sort());
  }
  for (const secret of forbidden) expect(mail.raw).not.toContain(secret);
}

describe('POST /auth/register', () => {
  it('answers 202 verification_sent and mails a verification link, in text and HTML', async () => {
    const email = uniqueEmail('reg');
    const res = await register(email, STRONG_PASSWORD);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ status: 'verification_sent' });

    const mail = await waitForAccountMail(smtp, email, 'verification');
    const link = new URL(mail.text.match(/https?:\/\/\S+\/verify-email\?token=\S+/)?.[0] ?? '');
    expect(`${link.origin}${link.pathname}`).toBe(`${ctx.config.publicUrl}/verify-email`);
    const token = linkToken(mail, 'verification');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
    expect(mail.html).toContain(`href="${ctx.config.publicUrl}/verify-email?token=${token}"`);

    // Only the token's hash is stored; the mail holds no password, hash or other secret.
    const user = await userByEmail(ctx.database.db, email);
    const stored = await ctx.database.db
      .selectFrom('one_time_tokens')
      .select(['token_hash', 'purpose'])
      .where('user_id', '=', user?.id ?? '')
      .execute();
    expect(stored).toEqual([{ token_hash: sha256Hex(token), purpose: 'verify_email' }]);
    expectNoSecretBut(
      mail,
      [token],
      [STRONG_PASSWORD, user?.password_hash ?? '<no hash>', sha256Hex(token)],
    );
  });

  it('creates the account unverified, with the user role only', async () => {
    const email = uniqueEmail('reg');
    expect((await register(email, STRONG_PASSWORD, 'Ada Lovelace')).statusCode).toBe(202);
    const user = await userByEmail(ctx.database.db, email);
    expect(user).toMatchObject({
      email,
      display_name: 'Ada Lovelace',
      roles: [],
      email_verified_at: null,
      locked: false,
    });
  });
});

describe('POST /auth/verify-email', () => {
  it('answers 200 with the user, now verified', async () => {
    const email = uniqueEmail('verify');
    await register(email, STRONG_PASSWORD, 'Grace Hopper');
    const token = linkToken(await waitForAccountMail(smtp, email, 'verification'), 'verification');
    const res = await post(ctx.app, '/auth/verify-email', { token, password: STRONG_PASSWORD });
    expect(res.statusCode).toBe(200);
    const { user } = res.json();
    expect(Object.keys(res.json())).toEqual(['user']);
    expect(Object.keys(user).sort()).toEqual(SELF_VIEW_KEYS);
    expect(user).toMatchObject({
      email,
      displayName: 'Grace Hopper',
      roles: ['user'],
      emailVerified: true,
      mfaEnabled: false,
      locked: false,
      avatarUrl: null,
    });
    expect((await userByEmail(ctx.database.db, email))?.email_verified_at).toBeInstanceOf(Date);
  });
});

describe('POST /auth/login', () => {
  it('before verification: the right password gets 403 email_not_verified, a wrong one 401', async () => {
    const email = uniqueEmail('unverified');
    expect((await register(email, STRONG_PASSWORD)).statusCode).toBe(202);
    expectProblem(await loginRes(email, STRONG_PASSWORD), 403, 'email_not_verified');
    expectProblem(await loginRes(email, `${STRONG_PASSWORD}x`), 401, 'invalid_credentials');
  });

  it('answers {accessToken, tokenType, expiresIn, csrfToken, user} and sets the session cookies', async () => {
    const { email, password, userId } = await registerAndVerify(ctx.app, smtp, {
      displayName: 'Katherine Johnson',
    });
    const res = await loginRes(email, password);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(
      ['accessToken', 'csrfToken', 'expiresIn', 'tokenType', 'user'].sort(),
    );
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(body.accessToken.split('.')).toHaveLength(3);
    expect(body.csrfToken).toEqual(expect.any(String));
    expect(Object.keys(body.user).sort()).toEqual(SELF_VIEW_KEYS);
    expect(body.user).toEqual({
      id: userId,
      email,
      displayName: 'Katherine Johnson',
      roles: ['user'],
      emailVerified: true,
      mfaEnabled: false,
      locked: false,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      avatarUrl: null,
    });
    const setCookie = res.headers['set-cookie'];
    expect(cookieValue(setCookie, 'bastion_refresh')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookieValue(setCookie, 'bastion_csrf')).toBe(body.csrfToken);
    expect([setCookie].flat().find((c) => c?.startsWith('bastion_refresh='))).toMatch(/HttpOnly/i);
  });

  it('a wrong password after verification is 401 invalid_credentials', async () => {
    const { email } = await registerAndVerify(ctx.app, smtp);
    expectProblem(
      await loginRes(email, 'granite heron folds ten maps'),
      401,
      'invalid_credentials',
    );
  });
});

describe('GET /auth/me', () => {
  it('answers {user}, the self view of the bearer', async () => {
    const session = await signUp(ctx.app, smtp);
    const res = await me(session.accessToken);
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json())).toEqual(['user']);
    expect(Object.keys(res.json().user).sort()).toEqual(SELF_VIEW_KEYS);
    expect(res.json().user).toMatchObject({ id: session.userId, email: session.email });
  });

  it('without a bearer is 401 unauthorized', async () => {
    expectProblem(await ctx.app.inject({ method: 'GET', url: '/auth/me' }), 401, 'unauthorized');
  });
});

describe('forgot and reset password', () => {
  it('forgot answers 202 and mails a reset link from PUBLIC_URL, with no other secret', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const res = await post(ctx.app, '/auth/password/forgot', { email });
    expect(res.statusCode).toBe(202);
    const mail = await waitForAccountMail(smtp, email, 'reset');
    const token = linkToken(mail, 'reset');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(mail.text).toContain(`${ctx.config.publicUrl}/reset-password?token=${token}`);
    expect(mail.html).toContain(`href="${ctx.config.publicUrl}/reset-password?token=${token}"`);
    expectNoSecretBut(mail, [token], [password, await storedHash(ctx.database.db, email)]);
  });

  it('forgot for an unknown address also answers 202 and mails nobody', async () => {
    const email = uniqueEmail('nobody');
    const res = await post(ctx.app, '/auth/password/forgot', { email });
    expect(res.statusCode).toBe(202);
    await expect(smtp.waitForMail(email, () => true, 1000)).rejects.toThrow(/no mail/);
  });

  it('reset answers 204, ends every session, mails a notice; only the new password works', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const laptop = await login(ctx.app, email, password);
    const phone = await login(ctx.app, email, password);
    const token = await forgotAndGetToken(email);

    const res = await post(ctx.app, '/auth/password/reset', { token, newPassword: NEW_PASSWORD });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');

    for (const session of [laptop, phone]) {
      expectProblem(await me(session.accessToken), 401, 'unauthorized');
      expectProblem(await refresh(session), 401, 'unauthorized');
    }
    const notice = await waitForAccountMail(smtp, email, 'passwordChanged');
    // Its one secret is the one-time "this was not me" link (notices.test.ts follows it).
    expectNoSecretBut(notice, [linkToken(notice, 'passwordChanged')], [password, NEW_PASSWORD]);
    expectProblem(await loginRes(email, password), 401, 'invalid_credentials');
    expect((await loginRes(email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('a newer reset link invalidates the older one', async () => {
    const { email } = await registerAndVerify(ctx.app, smtp);
    const older = await forgotAndGetToken(email);
    const newer = await forgotAndGetToken(email);
    expect(newer).not.toBe(older);
    expectProblem(
      await post(ctx.app, '/auth/password/reset', { token: older, newPassword: NEW_PASSWORD }),
      400,
      'invalid_token',
    );
    const res = await post(ctx.app, '/auth/password/reset', {
      token: newer,
      newPassword: NEW_PASSWORD,
    });
    expect(res.statusCode).toBe(204);
  });

  it('a weak new password is 400 weak_password and does not use up the link', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const token = await forgotAndGetToken(email);
    expectWeakPassword(
      await post(ctx.app, '/auth/password/reset', { token, newPassword: 'passwordpassword' }),
      'breached',
    );
    expect((await loginRes(email, password)).statusCode).toBe(200);
    const res = await post(ctx.app, '/auth/password/reset', { token, newPassword: NEW_PASSWORD });
    expect(res.statusCode).toBe(204);
  });

  it('a reset proves the mailbox: an unverified account can log in after it', async () => {
    const email = uniqueEmail('unverified-reset');
    await register(email, STRONG_PASSWORD);
    expectProblem(await loginRes(email, STRONG_PASSWORD), 403, 'email_not_verified');
    const token = await forgotAndGetToken(email);
    expect(
      (await post(ctx.app, '/auth/password/reset', { token, newPassword: NEW_PASSWORD }))
        .statusCode,
    ).toBe(204);
    expect((await loginRes(email, NEW_PASSWORD)).statusCode).toBe(200);
  });
});

describe('POST /auth/password/change', () => {
  const change = (accessToken: string, currentPassword: string, newPassword: string) =>
    post(ctx.app, '/auth/password/change', { currentPassword, newPassword }, bearer(accessToken));

  it('with the right current password: 204, other sessions end, this one stays, a notice is mailed', async () => {
    const { email, password } = await registerAndVerify(ctx.app, smtp);
    const here = await login(ctx.app, email, password);
    const other = await login(ctx.app, email, password);

    const res = await change(here.accessToken, password, NEW_PASSWORD);
    expect(res.statusCode).toBe(204);

    expectProblem(await me(other.accessToken), 401, 'unauthorized');
    expectProblem(await refresh(other), 401, 'unauthorized');
    expect((await me(here.accessToken)).statusCode).toBe(200);
    expect((await refresh(here)).statusCode).toBe(200);

    const notice = await waitForAccountMail(smtp, email, 'passwordChanged');
    // Its one secret is the one-time "this was not me" link (notices.test.ts follows it).
    expectNoSecretBut(notice, [linkToken(notice, 'passwordChanged')], [password, NEW_PASSWORD]);
    expectProblem(await loginRes(email, password), 401, 'invalid_credentials');
    expect((await loginRes(email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('with a wrong current password: 403 invalid_credentials and nothing changes', async () => {
    const session = await signUp(ctx.app, smtp);
    const before = await storedHash(ctx.database.db, session.email);
    expectProblem(
      await change(session.accessToken, 'granite heron folds ten maps', NEW_PASSWORD),
      403,
      'invalid_credentials',
    );
    expect(await storedHash(ctx.database.db, session.email)).toBe(before);
    expect((await me(session.accessToken)).statusCode).toBe(200);
  });

  it('a new password that breaks the policy is 400 weak_password', async () => {
    const session = await signUp(ctx.app, smtp);
    expectWeakPassword(
      await change(session.accessToken, session.password, 'short one'),
      'too_short',
    );
  });

  it('without a bearer is 401 unauthorized', async () => {
    expectProblem(
      await post(ctx.app, '/auth/password/change', {
        currentPassword: STRONG_PASSWORD,
        newPassword: NEW_PASSWORD,
      }),
      401,
      'unauthorized',
    );
  });
});

describe('password policy, through POST /auth/register', () => {
  it('14 code points: 400 weak_password too_short, with suggestions', async () => {
    expectWeakPassword(await register(uniqueEmail('p'), 'amber kite lo9'), 'too_short');
  });

  it('15 code points, not guessable: 202', async () => {
    expect((await register(uniqueEmail('p'), 'amber kite lo9q')).statusCode).toBe(202);
  });

  it('257 code points (emoji count once each): too_long; 256 are accepted', async () => {
    const words = ['lantern', '🦔', 'basalt', 'orchid', '🎻', 'gossamer', 'pylon', '🛶', 'fjord'];
    let phrase = '';
    for (let i = 0; [...phrase].length < 256; i++) phrase += `${words[(i * 5) % words.length]} `;
    const exactly256 = [...phrase].slice(0, 256).join('');
    expect([...exactly256]).toHaveLength(256);
    expectWeakPassword(await register(uniqueEmail('p'), '🔐'.repeat(257)), 'too_long');
    expectWeakPassword(await register(uniqueEmail('p'), `${exactly256}x`), 'too_long');
    const email = uniqueEmail('p');
    expect((await register(email, exactly256)).statusCode).toBe(202);
    // Not truncated: the 256th code point matters.
    await post(ctx.app, '/auth/verify-email', {
      token: linkToken(await waitForAccountMail(smtp, email, 'verification'), 'verification'),
      password: exactly256,
    });
    expectProblem(
      await loginRes(email, [...exactly256].slice(0, 255).join('')),
      401,
      'invalid_credentials',
    );
    expect((await loginRes(email, exactly256)).statusCode).toBe(200);
  });

  it('containing the email local part: contains_personal_info', async () => {
    const email = uniqueEmail('marigoldfernsby');
    const local = email.slice(0, email.indexOf('@'));
    expectWeakPassword(await register(email, `${local} sings loudly`), 'contains_personal_info');
    expectWeakPassword(await register(email, email), 'contains_personal_info');
  });

  it('containing the display name: contains_personal_info', async () => {
    expectWeakPassword(
      await register(uniqueEmail('p'), 'bartholomew quince rides', 'Bartholomew Quince'),
      'contains_personal_info',
    );
  });

  it('a common dictionary password: breached; password1234567: too_guessable', async () => {
    expectWeakPassword(await register(uniqueEmail('p'), 'passwordpassword'), 'breached');
    expectWeakPassword(await register(uniqueEmail('p'), 'PasswordPassword'), 'breached');
    // Not in the shipped dictionary, but zxcvbn still sees through it.
    expectWeakPassword(await register(uniqueEmail('p'), 'password1234567'), 'too_guessable');
  });

  it('a lowercase passphrase with spaces, no digits or symbols: 202', async () => {
    expect((await register(uniqueEmail('p'), PASSPHRASE)).statusCode).toBe(202);
  });

  it('NFKC: registered in full-width letters, logs in with the ASCII form', async () => {
    const fullWidth = 'ｐｕｒｐｌｅ ｔｒａｃｔｏｒ ｗｈｉｓｐｅｒｓ';
    expect(fullWidth.normalize('NFKC')).toBe('purple tractor whispers');
    const { email } = await registerAndVerify(ctx.app, smtp, { password: fullWidth });
    expect((await loginRes(email, 'purple tractor whispers')).statusCode).toBe(200);
    expect((await loginRes(email, fullWidth)).statusCode).toBe(200);
    expectProblem(await loginRes(email, 'purple tractor whisperz'), 401, 'invalid_credentials');
  });

  it('NFKC: registered with decomposed accents, logs in with the composed form', async () => {
    const decomposed = 'cre\u0300me bru\u0302le\u0301e quantum nine';
    const composed = 'crème brûlée quantum nine';
    expect(decomposed).not.toBe(composed);
    const { email } = await registerAndVerify(ctx.app, smtp, { password: decomposed });
    expect((await loginRes(email, composed)).statusCode).toBe(200);
  });
});

describe('password storage', () => {
  it('argon2id with the configured parameters; equal passwords give different hashes', async () => {
    const [a, b] = [uniqueEmail('hash'), uniqueEmail('hash')];
    await Promise.all([register(a, STRONG_PASSWORD), register(b, STRONG_PASSWORD)]);
    const [hashA, hashB] = await Promise.all([
      storedHash(ctx.database.db, a),
      storedHash(ctx.database.db, b),
    ]);
    for (const hash of [hashA, hashB]) {
      expect(hash.startsWith('$argon2id$v=19$')).toBe(true);
      expect(argon2.parseOptions(hash)).toMatchObject({
        algorithm: ARGON2ID,
        memoryCost: TEST_ARGON2.memoryCost,
        timeCost: TEST_ARGON2.timeCost,
        parallelism: TEST_ARGON2.parallelism,
        saltLen: 16,
      });
      expect(hash).not.toContain(STRONG_PASSWORD);
    }
    expect(hashA).not.toBe(hashB);
  });

  it('an imported bcrypt user logs in, and the stored hash becomes argon2id', async () => {
    const email = uniqueEmail('bcrypt');
    const legacy = await bcrypt.hash(PASSPHRASE, { cost: 4, version: '2b' });
    expect(legacy.startsWith('$2b$04$')).toBe(true);
    await insertUser(ctx.database.db, { email, passwordHash: legacy });

    expectProblem(await loginRes(email, `${PASSPHRASE}!`), 401, 'invalid_credentials');
    expect(await storedHash(ctx.database.db, email)).toBe(legacy); // no upgrade on a failure

    expect((await loginRes(email, PASSPHRASE)).statusCode).toBe(200);
    const upgraded = await storedHash(ctx.database.db, email);
    expect(upgraded.startsWith('$argon2id$')).toBe(true);
    expect((await loginRes(email, PASSPHRASE)).statusCode).toBe(200);
    expect(await storedHash(ctx.database.db, email)).toBe(upgraded); // upgraded once
  });

  it('an argon2id hash weaker than configured is re-hashed on login', async () => {
    const email = uniqueEmail('weakhash');
    const weak = await argon2.hash(PASSPHRASE, {
      algorithm: ARGON2ID,
      memoryCost: TEST_ARGON2.memoryCost / 2,
      timeCost: TEST_ARGON2.timeCost,
      parallelism: TEST_ARGON2.parallelism,
    });
    await insertUser(ctx.database.db, { email, passwordHash: weak });
    expect((await loginRes(email, PASSPHRASE)).statusCode).toBe(200);
    const upgraded = await storedHash(ctx.database.db, email);
    expect(upgraded).not.toBe(weak);
    expect(argon2.parseOptions(upgraded)).toMatchObject({
      algorithm: ARGON2ID,
      memoryCost: TEST_ARGON2.memoryCost,
    });
    expect((await loginRes(email, PASSPHRASE)).statusCode).toBe(200);
  });

  it('an argon2i hash (another variant) is upgraded to argon2id on login', async () => {
    const email = uniqueEmail('argon2i');
    const argon2i = await argon2.hash(PASSPHRASE, { algorithm: 1, ...TEST_ARGON2 });
    expect(argon2i.startsWith('$argon2i$')).toBe(true);
    await insertUser(ctx.database.db, { email, passwordHash: argon2i });
    expect((await loginRes(email, PASSPHRASE)).statusCode).toBe(200);
    expect((await storedHash(ctx.database.db, email)).startsWith('$argon2id$')).toBe(true);
  });
});
