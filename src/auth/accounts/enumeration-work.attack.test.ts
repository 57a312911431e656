/**
 * Account enumeration by timing, proved by the work done instead of by the clock (issue 14, the
 * suite's own honesty): a login for an unknown email, a locked or unverified account, or a
 * malformed stored hash runs exactly one argon2id verification with the same parameters as a
 * wrong password for a known account, so none answers measurably faster. argon2's `verify` is
 * wrapped to count its calls (the real function still does the work). The timing statistic
 * itself lives in bench/timing.ts.
 */
import * as argon2 from '@node-rs/argon2';
import * as bcrypt from '@node-rs/bcrypt';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  expectProblem,
  post,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { registerAndVerify, STRONG_PASSWORD, uniqueEmail } from '../../../test/support/auth.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';

vi.mock('@node-rs/argon2', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/argon2')>();
  return { ...real, verify: vi.fn(real.verify) };
});
vi.mock('@node-rs/bcrypt', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/bcrypt')>();
  return { ...real, verify: vi.fn(real.verify) };
});

const WRONG_PASSWORD = 'granite heron folds ten maps';
const argonVerify = vi.mocked(argon2.verify);
const bcryptVerify = vi.mocked(bcrypt.verify);

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
beforeEach(() => {
  argonVerify.mockClear();
  bcryptVerify.mockClear();
});

/** `$argon2id$v=19$m=…,t=…,p=…`: what sets the cost of a verification. */
function costOf(hash: string): string {
  return hash.split('$').slice(1, 4).join('$');
}

/** The argon2 verifications one failed login ran: one, whose hash has the cost returned. */
async function workOfFailedLogin(email: string, password: string): Promise<string> {
  argonVerify.mockClear();
  expectProblem(
    await post(ctx.app, '/auth/login', { email, password }),
    401,
    'invalid_credentials',
  );
  expect(bcryptVerify).not.toHaveBeenCalled();
  expect(argonVerify).toHaveBeenCalledTimes(1);
  const [hash] = argonVerify.mock.calls[0] as [string, ...unknown[]];
  return costOf(String(hash));
}

describe('attack: account enumeration by timing, by the work done', () => {
  it('an unknown email runs the same argon2id verification as a wrong password', async () => {
    const known = await registerAndVerify(ctx.app, smtp);
    const wrong = await workOfFailedLogin(known.email, WRONG_PASSWORD);
    expect(wrong).toMatch(/^argon2id\$v=19\$m=\d+,t=\d+,p=\d+$/);
    expect(await workOfFailedLogin(uniqueEmail('ghost'), WRONG_PASSWORD)).toBe(wrong);
  });

  it('an unverified or locked account, and a corrupt stored hash, cost the same as well', async () => {
    const known = await registerAndVerify(ctx.app, smtp);
    const wrong = await workOfFailedLogin(known.email, WRONG_PASSWORD);

    const unverified = uniqueEmail('unverified');
    const registered = await post(ctx.app, '/auth/register', {
      email: unverified,
      password: STRONG_PASSWORD,
      displayName: 'Unverified',
    });
    expect(registered.statusCode).toBe(202);
    expect(await workOfFailedLogin(unverified, WRONG_PASSWORD)).toBe(wrong);

    const locked = await registerAndVerify(ctx.app, smtp);
    await ctx.database.db
      .updateTable('users')
      .set({ locked: true })
      .where('email_key', '=', locked.email.toLowerCase())
      .execute();
    expect(await workOfFailedLogin(locked.email, locked.password)).toBe(wrong);

    const corrupt = await registerAndVerify(ctx.app, smtp);
    await ctx.database.db
      .updateTable('users')
      .set({ password_hash: '$argon2id$not-a-hash' })
      .where('email_key', '=', corrupt.email.toLowerCase())
      .execute();
    expect(await workOfFailedLogin(corrupt.email, WRONG_PASSWORD)).toBe(wrong);
  });
});
