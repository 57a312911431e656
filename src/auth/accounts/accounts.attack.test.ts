/**
 * Attacks on the account routes (issue 3): account enumeration by status and body (by timing:
 * enumeration-work.attack.test.ts);
 * replayed, expired and raced one-time tokens; oversized passwords; mass assignment; SQL and
 * script strings in every field; look-alike email addresses.
 */
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  countUsers,
  expectProblem,
  linkToken,
  mailsTo,
  post,
  storedHash,
  userByEmail,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import {
  bearer,
  login,
  registerAndVerify,
  STRONG_PASSWORD,
  signUp,
  uniqueEmail,
} from '../../../test/support/auth.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { manualClock } from '../../platform/clock.js';

const NEW_PASSWORD = 'granite heron folds nine maps';
const WRONG_PASSWORD = 'granite heron folds ten maps';

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

const register = (email: string, password = STRONG_PASSWORD, displayName = 'Test User') =>
  post(ctx.app, '/auth/register', { email, password, displayName });
const loginRes = (email: string, password: string) =>
  post(ctx.app, '/auth/login', { email, password });

/** The body with its request id blanked: everything else must match byte for byte. */
function withoutRequestId(res: LightMyRequestResponse): string {
  const id = res.json().requestId;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  return res.body.replace(id, '<requestId>');
}

/**
 * What a client can compare between two answers: status, body and headers. The per-IP rate-limit
 * budget counts down on every attempt whichever account it names, so those headers are compared
 * by name only (a header that only some accounts get would still show).
 */
function observable(res: LightMyRequestResponse) {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (name === 'date') continue;
    headers[name] = /^(x-)?ratelimit|^retry-after$/.test(name) ? '<counter>' : value;
  }
  return {
    status: res.statusCode,
    headers,
    body: /problem\+json/.test(String(res.headers['content-type']))
      ? withoutRequestId(res)
      : res.body,
  };
}

async function setLocked(email: string, locked: boolean): Promise<void> {
  await ctx.database.db
    .updateTable('users')
    .set({ locked })
    .where('email_key', '=', email.toLowerCase())
    .execute();
}

describe('attack: account enumeration by status and body', () => {
  it('an unknown email, a wrong password, a locked and an unverified account answer alike', async () => {
    const known = await registerAndVerify(ctx.app, smtp);
    const locked = await registerAndVerify(ctx.app, smtp);
    await setLocked(locked.email, true);
    const unverified = uniqueEmail('unverified');
    expect((await register(unverified)).statusCode).toBe(202);

    const answers = {
      unknownEmail: await loginRes(uniqueEmail('ghost'), STRONG_PASSWORD),
      wrongPassword: await loginRes(known.email, WRONG_PASSWORD),
      lockedRightPassword: await loginRes(locked.email, locked.password),
      lockedWrongPassword: await loginRes(locked.email, WRONG_PASSWORD),
      unverifiedWrongPassword: await loginRes(unverified, WRONG_PASSWORD),
      notAnAddress: await loginRes('not-an-address', STRONG_PASSWORD),
    };
    const reference = observable(answers.unknownEmail);
    expectProblem(answers.unknownEmail, 401, 'invalid_credentials');
    for (const [name, res] of Object.entries(answers)) {
      expect(observable(res), name).toEqual(reference);
    }
    // Control: the locked account's password really is right.
    await setLocked(locked.email, false);
    expect((await loginRes(locked.email, locked.password)).statusCode).toBe(200);
  });

  it('registering a taken address gets the same 202; the owner is told, and nothing is taken over', async () => {
    const owner = await registerAndVerify(ctx.app, smtp, { displayName: 'Owner' });
    const hashBefore = await storedHash(ctx.database.db, owner.email);
    const fresh = await register(uniqueEmail('fresh'), NEW_PASSWORD, 'Attacker');
    const taken = await register(owner.email, NEW_PASSWORD, 'Attacker');
    expect(observable(taken)).toEqual(observable(fresh));
    expect(taken.json()).toEqual({ status: 'verification_sent' });

    await waitForAccountMail(smtp, owner.email, 'alreadyRegistered');
    // No new verification token was made for the owner, and no second verification mail came.
    const user = await userByEmail(ctx.database.db, owner.email);
    const tokens = await ctx.database.db
      .selectFrom('one_time_tokens')
      .select('purpose')
      .where('user_id', '=', user?.id ?? '')
      .execute();
    expect(tokens).toEqual([{ purpose: 'verify_email' }]);
    // Sentinel: a reset mail asked for after the registration. A verification mail that the
    // registration sent would have been handed to SMTP before it.
    expect((await post(ctx.app, '/auth/password/forgot', { email: owner.email })).statusCode).toBe(
      202,
    );
    await waitForAccountMail(smtp, owner.email, 'reset');
    expect(mailsTo(smtp, owner.email, 'verification')).toHaveLength(1);

    expect(await storedHash(ctx.database.db, owner.email)).toBe(hashBefore);
    expect(user?.display_name).toBe('Owner');
    expectProblem(await loginRes(owner.email, NEW_PASSWORD), 401, 'invalid_credentials');
    expect((await loginRes(owner.email, owner.password)).statusCode).toBe(200);
  });

  it('forgot-password for an unknown and a known address answer identically', async () => {
    const known = await registerAndVerify(ctx.app, smtp);
    const forKnown = await post(ctx.app, '/auth/password/forgot', { email: known.email });
    const forUnknown = await post(ctx.app, '/auth/password/forgot', {
      email: uniqueEmail('ghost'),
    });
    expect(forKnown.statusCode).toBe(202);
    expect(observable(forUnknown)).toEqual(observable(forKnown));
    await waitForAccountMail(smtp, known.email, 'reset'); // control: the known one got a mail
  });
});

// Enumeration by timing: enumeration-work.attack.test.ts proves that every failed login runs the
// same argon2id verification; the timing statistic itself is bench/timing.ts.

describe('attack: replayed and expired one-time tokens', () => {
  it('a verification link used twice: the second use is 400 invalid_token', async () => {
    const email = uniqueEmail('replay');
    await register(email);
    const token = linkToken(await waitForAccountMail(smtp, email, 'verification'), 'verification');
    expect(
      (await post(ctx.app, '/auth/verify-email', { token, password: STRONG_PASSWORD })).statusCode,
    ).toBe(200);
    expectProblem(
      await post(ctx.app, '/auth/verify-email', { token, password: STRONG_PASSWORD }),
      400,
      'invalid_token',
    );
  });

  it('a made-up token, and a reset token used to verify (or the reverse), are 400 invalid_token', async () => {
    const email = uniqueEmail('confused');
    await register(email);
    const verifyToken = linkToken(
      await waitForAccountMail(smtp, email, 'verification'),
      'verification',
    );
    await post(ctx.app, '/auth/password/forgot', { email });
    const resetToken = linkToken(await waitForAccountMail(smtp, email, 'reset'), 'reset');

    expectProblem(
      await post(ctx.app, '/auth/verify-email', {
        token: 'A'.repeat(43),
        password: STRONG_PASSWORD,
      }),
      400,
      'invalid_token',
    );
    expectProblem(
      await post(ctx.app, '/auth/verify-email', { token: resetToken, password: STRONG_PASSWORD }),
      400,
      'invalid_token',
    );
    expectProblem(
      await post(ctx.app, '/auth/password/reset', {
        token: verifyToken,
        newPassword: NEW_PASSWORD,
      }),
      400,
      'invalid_token',
    );
    // Both still work for their own purpose.
    expect(
      (await post(ctx.app, '/auth/verify-email', { token: verifyToken, password: STRONG_PASSWORD }))
        .statusCode,
    ).toBe(200);
    expect(
      (
        await post(ctx.app, '/auth/password/reset', {
          token: resetToken,
          newPassword: NEW_PASSWORD,
        })
      ).statusCode,
    ).toBe(204);
  });

  it('a reset link used twice: the second use is 400 invalid_token and the password stays', async () => {
    const { email } = await registerAndVerify(ctx.app, smtp);
    await post(ctx.app, '/auth/password/forgot', { email });
    const token = linkToken(await waitForAccountMail(smtp, email, 'reset'), 'reset');
    expect(
      (await post(ctx.app, '/auth/password/reset', { token, newPassword: NEW_PASSWORD }))
        .statusCode,
    ).toBe(204);
    expectProblem(
      await post(ctx.app, '/auth/password/reset', { token, newPassword: WRONG_PASSWORD }),
      400,
      'invalid_token',
    );
    expect((await loginRes(email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  describe('with a clock the test moves', () => {
    const clock = manualClock();
    let clocked: TestContext;
    beforeAll(async () => {
      // Its own database: the mail outbox worker of an app on another clock must not make
      // this app's link tokens (instances share one clock in production).
      clocked = await createTestApp({ env: accountTestEnv(smtp), deps: { clock } });
    }, BUILD_TIMEOUT_MS);
    afterAll(async () => clocked?.close());

    async function verificationToken(): Promise<string> {
      const email = uniqueEmail('clock');
      await post(clocked.app, '/auth/register', {
        email,
        password: STRONG_PASSWORD,
        displayName: 'Clock',
      });
      return linkToken(await waitForAccountMail(smtp, email, 'verification'), 'verification');
    }

    async function resetToken(): Promise<string> {
      const { email } = await registerAndVerify(clocked.app, smtp);
      await post(clocked.app, '/auth/password/forgot', { email });
      return linkToken(await waitForAccountMail(smtp, email, 'reset'), 'reset');
    }

    it('a verification link is good for 24 hours, and 400 invalid_token one second after', async () => {
      const [early, late] = [await verificationToken(), await verificationToken()];
      clock.advance(24 * 3600_000 - 1000);
      expect(
        (await post(clocked.app, '/auth/verify-email', { token: early, password: STRONG_PASSWORD }))
          .statusCode,
      ).toBe(200);
      clock.advance(2000);
      expectProblem(
        await post(clocked.app, '/auth/verify-email', { token: late, password: STRONG_PASSWORD }),
        400,
        'invalid_token',
      );
    });

    it('a reset link is good for 30 minutes, and 400 invalid_token one second after', async () => {
      const [early, late] = [await resetToken(), await resetToken()];
      clock.advance(30 * 60_000 - 1000);
      expect(
        (
          await post(clocked.app, '/auth/password/reset', {
            token: early,
            newPassword: NEW_PASSWORD,
          })
        ).statusCode,
      ).toBe(204);
      clock.advance(2000);
      expectProblem(
        await post(clocked.app, '/auth/password/reset', { token: late, newPassword: NEW_PASSWORD }),
        400,
        'invalid_token',
      );
    });
  });

  it('one reset link raced twice at once: exactly one reset wins', async () => {
    for (let round = 0; round < 3; round++) {
      const { email } = await registerAndVerify(ctx.app, smtp);
      await post(ctx.app, '/auth/password/forgot', { email });
      const token = linkToken(await waitForAccountMail(smtp, email, 'reset'), 'reset');
      const passwords = ['amber kite lo9q velvet', 'oxbow fjord zq7 tundra'] as const;
      const results = await Promise.all(
        passwords.map((newPassword) =>
          post(ctx.app, '/auth/password/reset', { token, newPassword }),
        ),
      );
      const statuses = results.map((r) => r.statusCode).sort();
      expect(statuses).toEqual([204, 400]);
      const loser = results.find((r) => r.statusCode === 400);
      expect(loser?.json().code).toBe('invalid_token');
      const winner = passwords[results.findIndex((r) => r.statusCode === 204)] as string;
      const other = passwords.find((p) => p !== winner) as string;
      expect((await loginRes(email, winner)).statusCode).toBe(200);
      expectProblem(await loginRes(email, other), 401, 'invalid_credentials');
    }
  });
});

describe('attack: oversized passwords', () => {
  const tenMegabytes = 'x'.repeat(10 * 1024 * 1024);
  const fiveThousand = 'correct horse battery staple '.repeat(200).slice(0, 5000);

  it('a 10 MB password is refused with 413 payload_too_large on every route that takes one', async () => {
    const session = await signUp(ctx.app, smtp);
    const attempts = [
      post(ctx.app, '/auth/register', {
        email: uniqueEmail('huge'),
        password: tenMegabytes,
        displayName: 'Huge',
      }),
      post(ctx.app, '/auth/login', { email: session.email, password: tenMegabytes }),
      post(ctx.app, '/auth/password/reset', { token: 'A'.repeat(43), newPassword: tenMegabytes }),
      post(
        ctx.app,
        '/auth/password/change',
        { currentPassword: session.password, newPassword: tenMegabytes },
        bearer(session.accessToken),
      ),
    ];
    for (const res of await Promise.all(attempts)) expectProblem(res, 413, 'payload_too_large');
  });

  it('a 5,000-character password is a 400, never hashed into a 500', async () => {
    const session = await signUp(ctx.app, smtp);
    const attempts = [
      post(ctx.app, '/auth/register', {
        email: uniqueEmail('long'),
        password: fiveThousand,
        displayName: 'Long',
      }),
      post(ctx.app, '/auth/login', { email: session.email, password: fiveThousand }),
      post(ctx.app, '/auth/password/reset', { token: 'A'.repeat(43), newPassword: fiveThousand }),
      post(
        ctx.app,
        '/auth/password/change',
        { currentPassword: session.password, newPassword: fiveThousand },
        bearer(session.accessToken),
      ),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.statusCode, res.body).toBe(400);
      const body = res.json();
      if (body.code === 'weak_password') expect(body.rule).toBe('too_long');
      else expect(body.code).toBe('validation_failed');
    }
    expect((await login(ctx.app, session.email, session.password)).accessToken).toBeTruthy();
  });
});

describe('attack: mass assignment', () => {
  const EXTRAS = [
    { roles: ['admin'] },
    { emailVerified: true },
    { locked: false },
    { id: '00000000-0000-7000-8000-000000000000' },
  ];

  it('roles, emailVerified, locked or id in a registration: 400 validation_failed, no account', async () => {
    for (const extra of EXTRAS) {
      const email = uniqueEmail('mass');
      const res = await post(ctx.app, '/auth/register', {
        email,
        password: STRONG_PASSWORD,
        displayName: 'Mallory',
        ...extra,
      });
      expectProblem(res, 400, 'validation_failed');
      expect(await userByEmail(ctx.database.db, email), JSON.stringify(extra)).toBeUndefined();
    }
  });

  it('the same keys in a login or a password change: 400 validation_failed, nothing changes', async () => {
    const session = await signUp(ctx.app, smtp);
    const before = await userByEmail(ctx.database.db, session.email);
    for (const extra of EXTRAS) {
      expectProblem(
        await post(ctx.app, '/auth/login', {
          email: session.email,
          password: session.password,
          ...extra,
        }),
        400,
        'validation_failed',
      );
      expectProblem(
        await post(
          ctx.app,
          '/auth/password/change',
          { currentPassword: session.password, newPassword: NEW_PASSWORD, ...extra },
          bearer(session.accessToken),
        ),
        400,
        'validation_failed',
      );
    }
    for (const [url, body] of [
      [
        '/auth/verify-email',
        { token: 'A'.repeat(43), password: STRONG_PASSWORD, emailVerified: true },
      ],
      ['/auth/password/forgot', { email: session.email, roles: ['admin'] }],
      ['/auth/password/reset', { token: 'A'.repeat(43), newPassword: NEW_PASSWORD, id: 'x' }],
    ] as const) {
      expectProblem(await post(ctx.app, url, body), 400, 'validation_failed');
    }
    expect(await userByEmail(ctx.database.db, session.email)).toEqual(before);
    const me = await ctx.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: bearer(session.accessToken),
    });
    expect(me.json().user.roles).toEqual(['user']);
  });
});

describe('attack: SQL and script strings in every field', () => {
  const HOSTILE = [
    "' OR 1=1 --",
    '"; DROP TABLE users; --',
    '<script>alert(1)</script>',
    '\u0000',
    // Long enough to pass the length checks of tokens and passwords and reach the code behind.
    "' OR '1'='1' -- padding to sixteen",
    'x"; DROP TABLE users; -- and then some',
    '<script>alert(document.cookie)</script>',
    'nul \u0000 inside a long enough string',
    // Shaped like an address, so it passes the email check and reaches the query.
    "o'brien'--@example.test",
    "x'+OR+1=1--@example.test",
  ];
  function expectNo500(res: LightMyRequestResponse, what: string) {
    expect(res.statusCode, `${what}: ${res.body}`).toBeLessThan(500);
    expect(res.statusCode, what).toBeGreaterThanOrEqual(200);
  }
  const is4xx = (status: number) => status >= 400 && status < 500;
  /**
   * What each route may answer when one field is hostile: a made-up token or a hostile
   * credential is always refused with a 4xx; forgot-password says 202 (or 400 for a value too
   * short to be an address, whoever asks); a registration either refuses the value (400) or,
   * where it is legitimate data (a display name, a long password, an address with a quote),
   * accepts it (202) and stores it as data.
   */
  const ALLOWED: Record<string, (status: number) => boolean> = {
    '/auth/register': (status) => status === 202 || status === 400,
    '/auth/verify-email': is4xx,
    '/auth/login': is4xx,
    '/auth/password/forgot': (status) => status === 202 || status === 400,
    '/auth/password/reset': is4xx,
  };

  it('register, verify, login, forgot and reset never fail with a 500, and users survive', async () => {
    const sentinel = await registerAndVerify(ctx.app, smtp);
    const usersBefore = await countUsers(ctx.database.db);
    const base: Record<string, Record<string, string>> = {
      '/auth/register': {
        email: uniqueEmail('sqli'),
        password: STRONG_PASSWORD,
        displayName: 'Sql Tester',
      },
      '/auth/verify-email': { token: 'A'.repeat(43), password: STRONG_PASSWORD },
      '/auth/login': { email: sentinel.email, password: sentinel.password },
      '/auth/password/forgot': { email: uniqueEmail('sqli') },
      '/auth/password/reset': { token: 'A'.repeat(43), newPassword: NEW_PASSWORD },
    };
    for (const [url, fields] of Object.entries(base)) {
      for (const field of Object.keys(fields)) {
        for (const value of HOSTILE) {
          const body = { ...fields, [field]: value };
          // A fresh address each time, so each registration takes the new-account path.
          if (url === '/auth/register' && field !== 'email') body.email = uniqueEmail('sqli');
          const res = await post(ctx.app, url, body);
          const what = `${url} ${field}=${JSON.stringify(value)}`;
          expectNo500(res, what);
          expect(ALLOWED[url]?.(res.statusCode), `${what}: ${res.statusCode}`).toBe(true);
        }
      }
    }
    // The table is there, nobody vanished, and the sentinel still logs in.
    expect(await countUsers(ctx.database.db)).toBeGreaterThanOrEqual(usersBefore);
    const { rows } = await sql<{ t: string }>`
      select table_name as t from information_schema.tables where table_name = 'users'`.execute(
      ctx.database.db,
    );
    expect(rows).toHaveLength(1);
    expect((await loginRes(sentinel.email, sentinel.password)).statusCode).toBe(200);
  });

  it('hostile strings are stored and compared as data: an address with quotes is its own account', async () => {
    const email = `o'brien'--${Date.now()}@example.test`;
    const res = await register(email, STRONG_PASSWORD, '"; DROP TABLE users; --');
    expect(res.statusCode).toBe(202);
    expect(await userByEmail(ctx.database.db, email)).toMatchObject({
      email,
      display_name: '"; DROP TABLE users; --',
    });
    // Its quote does not match anyone else.
    expectProblem(await loginRes("'--@example.test", STRONG_PASSWORD), 401, 'invalid_credentials');
  });

  it('a NUL byte in a display name or email is a 400, not a database error', async () => {
    expectProblem(
      await register(uniqueEmail('nul'), STRONG_PASSWORD, 'Nul\u0000Name'),
      400,
      'validation_failed',
    );
    expectProblem(
      await register('nul\u0000@example.test', STRONG_PASSWORD),
      400,
      'validation_failed',
    );
  });

  it('a password change with hostile current or new passwords never fails with a 500', async () => {
    const session = await signUp(ctx.app, smtp);
    let current = session.password;
    for (const value of HOSTILE) {
      const wrongCurrent = await post(
        ctx.app,
        '/auth/password/change',
        { currentPassword: value, newPassword: NEW_PASSWORD },
        bearer(session.accessToken),
      );
      expectNo500(wrongCurrent, `currentPassword=${JSON.stringify(value)}`);
      expect(wrongCurrent.statusCode).not.toBe(204);
      const hostileNew = await post(
        ctx.app,
        '/auth/password/change',
        { currentPassword: current, newPassword: value },
        bearer(session.accessToken),
      );
      expectNo500(hostileNew, `newPassword=${JSON.stringify(value)}`);
      // A long hostile string can be a fine password; then it is the password now.
      if (hostileNew.statusCode === 204) current = value;
    }
    expect((await loginRes(session.email, current)).statusCode).toBe(200);
  });

  it('a display name with a script tag is plain text: JSON in the API, absent from the mail', async () => {
    const name = '<script>alert(1)</script>';
    const email = uniqueEmail('xss');
    expect((await register(email, STRONG_PASSWORD, name)).statusCode).toBe(202);
    const mail = await waitForAccountMail(smtp, email, 'verification');
    expect(mail.html).not.toContain('<script');
    // Mails to an unverified address carry no registrant-chosen text at all (issue 14, item 5).
    expect(mail.html).not.toContain('alert(1)');

    const verified = await post(ctx.app, '/auth/verify-email', {
      token: linkToken(mail, 'verification'),
      password: STRONG_PASSWORD,
    });
    expect(verified.headers['content-type']).toMatch(/^application\/json/);
    expect(verified.headers['x-content-type-options']).toBe('nosniff');
    expect(verified.json().user.displayName).toBe(name);
    expect((await userByEmail(ctx.database.db, email))?.display_name).toBe(name);
  });
});

describe('attack: look-alike email addresses', () => {
  // One address, typed four ways: upper case, decomposed é (NFD), surrounding spaces, all three.
  const unique = Date.now().toString(36);
  const stem = `josé.${unique}`;
  const original = `${stem}@example.test`;
  const variants = {
    upperCase: original.toUpperCase(),
    decomposed: original.normalize('NFD'),
    spaced: `  ${original}  `,
    mixed: `  ${stem.toUpperCase().normalize('NFD')}@Example.TEST `,
  };
  let userId: string;
  beforeAll(async () => {
    ({ userId } = await registerAndVerify(ctx.app, smtp, { email: original }));
  });

  it('case, Unicode form and spaces do not make a second account', async () => {
    expect(variants.decomposed).not.toBe(original);
    for (const [name, variant] of Object.entries(variants)) {
      const res = await register(variant, NEW_PASSWORD);
      expect(res.statusCode, name).toBe(202);
      await waitForAccountMail(smtp, original, 'alreadyRegistered');
      const session = await loginRes(variant, STRONG_PASSWORD);
      expect(session.statusCode, name).toBe(200);
      expect(session.json().user.id, name).toBe(userId);
    }
    const rows = await ctx.database.db
      .selectFrom('users')
      .select('id')
      .where(sql<string>`lower(email_key)`, 'like', `%${unique}%`)
      .execute();
    expect(rows).toEqual([{ id: userId }]);
    expect(mailsTo(smtp, original, 'verification')).toHaveLength(1);
  });

  it('a variant address asking for a reset gets the link at the registered address', async () => {
    expect(
      (await post(ctx.app, '/auth/password/forgot', { email: variants.mixed })).statusCode,
    ).toBe(202);
    const mail = await waitForAccountMail(smtp, original, 'reset');
    expect(mail.to).toEqual([original]);
  });

  it('control and bidi characters in an address are refused with 400 validation_failed', async () => {
    for (const hidden of ['\u202E', '\u2066', '\u200B', '\u0007', '\r\nBcc: x@evil.test']) {
      const email = `eve${hidden}-${Date.now()}@example.test`;
      expectProblem(await register(email), 400, 'validation_failed');
      expect(await userByEmail(ctx.database.db, email)).toBeUndefined();
    }
  });
});
