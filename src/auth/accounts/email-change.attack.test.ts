/**
 * Attacks on the email change (issue 19): a stolen access token (old, or fresh without the
 * password), password guessing through the route, telling taken addresses from free ones,
 * replaying or cross-using links, and taking the account away from the old address for good.
 * The old address can undo a change for 7 days: every session ends, the password stops working
 * until a reset, and the revert links of later changes (mailed to the attacker) die with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAL_LOGIN_LIMITS, randomIPv4, WRONG_PASSWORD } from '../../../test/support/abuse.js';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  expectProblem,
  post,
  userByEmail,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import {
  bearer,
  login,
  registerAndVerify,
  signUp,
  uniqueEmail,
} from '../../../test/support/auth.js';
import {
  auditActions,
  CONFIRM_PATH,
  changeEmail,
  confirmEmail,
  mailedToken,
  mailsTo,
  RESET_PATH,
  REVERT_PATH,
  revertEmail,
  TAKEN_SUBJECT,
} from '../../../test/support/email-change.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import { DAY, MINUTE, me, refresh } from '../../../test/support/tokens.js';
import { manualClock } from '../../platform/clock.js';

const NEW_PASSWORD = 'amber-falcon-sings-over-7-quiet-bridges';

describe('email change attacks', () => {
  const clock = manualClock();
  let smtp: TestSmtp;
  let ctx: TestContext;

  beforeAll(async () => {
    smtp = await startTestSmtp();
    ctx = await createTestApp({
      env: { ...accountTestEnv(smtp), ...REAL_LOGIN_LIMITS },
      deps: { clock },
    });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    await smtp?.close();
  });

  /** Asks for a change to `target` and confirms it through the mailed link. */
  async function moveTo(accessToken: string, password: string, target: string) {
    const res = await changeEmail(ctx.app, accessToken, { newEmail: target, password });
    expect(res.statusCode, res.body).toBe(202);
    const confirmed = await confirmEmail(ctx.app, await mailedToken(smtp, target, CONFIRM_PATH));
    expect(confirmed.statusCode, confirmed.body).toBe(200);
  }

  it('a stolen access token from a login over 5 minutes old cannot change the email (401 reauthentication_required), nor one past its lifetime (401 unauthorized)', async () => {
    const victim = await signUp(ctx.app, smtp);
    const target = uniqueEmail('thief');
    const body = { newEmail: target, password: victim.password };
    clock.advance(5 * MINUTE + 1000);
    // The right password does not make up for an old login.
    expectProblem(
      await changeEmail(ctx.app, victim.accessToken, body),
      401,
      'reauthentication_required',
    );
    // Past the 15-minute lifetime and the verifier's clock tolerance.
    clock.advance(20 * MINUTE);
    expectProblem(await changeEmail(ctx.app, victim.accessToken, body), 401, 'unauthorized');
    expect((await userByEmail(ctx.database.db, victim.email))?.id).toBe(victim.userId);
    expect(mailsTo(smtp, target)).toEqual([]);
    expect(await auditActions(ctx.database.db, victim.userId)).not.toContain(
      'account.email_change_requested',
    );
  });

  it('a stolen fresh session without the password cannot: 401 invalid_credentials, counted in the login throttle with logins (429 past the budget) and a security event', async () => {
    const victim = await signUp(ctx.app, smtp);
    const target = uniqueEmail('thief');
    const free = Number(REAL_LOGIN_LIMITS.RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES);
    const half = Math.floor(free / 2);
    // Half the budget spent by wrong logins, from addresses of their own...
    for (let i = 0; i < half; i++) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: victim.email, password: `${WRONG_PASSWORD}-login-${i}` },
        remoteAddress: randomIPv4(),
      });
      expectProblem(res, 401, 'invalid_credentials');
    }
    // ...the rest by guesses through the email change: one account budget for both.
    const statuses: number[] = [];
    for (let i = half; i < free + 2; i++) {
      const res = await changeEmail(
        ctx.app,
        victim.accessToken,
        { newEmail: target, password: `${WRONG_PASSWORD}-${i}` },
        randomIPv4(),
      );
      statuses.push(res.statusCode);
      if (res.statusCode === 401) expect(res.json().code).toBe('invalid_credentials');
      if (res.statusCode === 429) {
        expect(res.json().code).toBe('rate_limited');
        expect(res.headers['retry-after']).toBeDefined();
      }
    }
    expect(statuses.slice(0, free - half)).toEqual(Array(free - half).fill(401));
    expect(statuses.slice(free - half)).toContain(429);
    const events = await ctx.database.db
      .selectFrom('security_events')
      .select('type')
      .where('type', '=', 'account_throttled')
      .where('user_id', '=', victim.userId)
      .execute();
    expect(events.length).toBeGreaterThanOrEqual(1);
    // Nothing changed and nothing was mailed to the thief's address.
    expect((await me(ctx.app, victim.accessToken)).json().user.email).toBe(victim.email);
    expect(mailsTo(smtp, target)).toEqual([]);
  });

  it('a taken address answers exactly like a free one and changes nothing; its owner gets a notice without a link token', async () => {
    const holder = await registerAndVerify(ctx.app, smtp);
    const prober = await signUp(ctx.app, smtp);
    const free = uniqueEmail('free');
    const taken = await changeEmail(ctx.app, prober.accessToken, {
      // Another case of the holder's address: one account, as at register.
      newEmail: holder.email.toUpperCase(),
      password: prober.password,
    });
    const open = await changeEmail(ctx.app, prober.accessToken, {
      newEmail: free,
      password: prober.password,
    });
    expect(taken.statusCode).toBe(202);
    expect(open.statusCode).toBe(202);
    expect(taken.body).toBe(open.body);
    expect(taken.headers['content-type']).toBe(open.headers['content-type']);

    // The holder is told, with no link that could act on anything.
    const notice = await smtp.waitForMail(holder.email, (m) => m.subject === TAKEN_SUBJECT, 15_000);
    expect(notice.text).not.toMatch(/token=/);
    // The free address got its confirm link; nothing else changed for either account.
    await mailedToken(smtp, free, CONFIRM_PATH);
    expect(mailsTo(smtp, holder.email).filter((m) => m.text.includes(CONFIRM_PATH))).toEqual([]);
    expect((await userByEmail(ctx.database.db, holder.email))?.id).toBe(holder.userId);
    expect((await me(ctx.app, prober.accessToken)).json().user.email).toBe(prober.email);
    await login(ctx.app, holder.email, holder.password);
  });

  it('a confirm token cannot be replayed, and a token for user A changes only A whoever sends it', async () => {
    const a = await signUp(ctx.app, smtp);
    const b = await signUp(ctx.app, smtp);
    const target = uniqueEmail('a-new');
    await changeEmail(ctx.app, a.accessToken, { newEmail: target, password: a.password });
    const token = await mailedToken(smtp, target, CONFIRM_PATH);

    // B sends A's token with B's own bearer: the token alone decides whose address moves.
    const used = await confirmEmail(ctx.app, token, bearer(b.accessToken));
    expect(used.statusCode, used.body).toBe(200);
    expect(used.json().user.id).toBe(a.userId);
    expect((await me(ctx.app, b.accessToken)).json().user.email).toBe(b.email);
    expect((await me(ctx.app, a.accessToken)).json().user.email).toBe(target);

    // Replayed (concurrently too): invalid_token, nothing moves again.
    const replays = await Promise.all([confirmEmail(ctx.app, token), confirmEmail(ctx.app, token)]);
    for (const r of replays) expectProblem(r, 400, 'invalid_token');
    // A forged token of the right shape is refused the same way.
    expectProblem(await confirmEmail(ctx.app, `${token.slice(0, -2)}AA`), 400, 'invalid_token');
    const stored = await ctx.database.db
      .selectFrom('one_time_tokens')
      .select('token_hash')
      .where('user_id', '=', a.userId)
      .execute();
    // Stored hashed only.
    for (const row of stored) expect(row.token_hash).not.toBe(token);
  });

  it('the old address reverts within 7 days: the address is back, every session ends (refresh refused), the password stops working until the mailed reset', async () => {
    const owner = await signUp(ctx.app, smtp);
    const other = await login(ctx.app, owner.email, owner.password);
    const target = uniqueEmail('attacker');
    await moveTo(owner.accessToken, owner.password, target);
    const revert = await mailedToken(smtp, owner.email, REVERT_PATH);

    clock.advance(7 * DAY - MINUTE);
    // A fresh session of whoever moved the address (the password is known to them).
    const thief = await login(ctx.app, target, owner.password);
    const res = await revertEmail(ctx.app, revert);
    expect(res.statusCode, res.body).toBe(204);

    expect((await userByEmail(ctx.database.db, owner.email))?.id).toBe(owner.userId);
    expect(await userByEmail(ctx.database.db, target)).toBeUndefined();
    for (const s of [owner, other, thief]) {
      expectProblem(await refresh(ctx.app, s.cookie, s.csrfToken), 401, 'unauthorized');
      expectProblem(await me(ctx.app, s.accessToken), 401, 'unauthorized');
    }
    // The password that moved the address no longer signs in, by either address.
    await expect(login(ctx.app, owner.email, owner.password)).rejects.toThrow(/401/);
    await expect(login(ctx.app, target, owner.password)).rejects.toThrow(/401/);
    // The reset link went to the old address; it lifts the block.
    const reset = await mailedToken(smtp, owner.email, RESET_PATH);
    expect(
      (await post(ctx.app, '/auth/password/reset', { token: reset, newPassword: NEW_PASSWORD }))
        .statusCode,
    ).toBe(204);
    expect((await login(ctx.app, owner.email, NEW_PASSWORD)).userId).toBe(owner.userId);
    // A revert link works once.
    expectProblem(await revertEmail(ctx.app, revert), 400, 'invalid_token');
    expect(await auditActions(ctx.database.db, owner.userId)).toContain(
      'account.email_change_reverted',
    );
    const events = await ctx.database.db
      .selectFrom('lifecycle_events')
      .select('data')
      .where('user_id', '=', owner.userId)
      .where('type', '=', 'user.email_changed')
      .execute();
    expect(events.map((e) => e.data)).toEqual([{}, { reverted: true }]);
  });

  it('after 7 days the revert link is invalid_token and the account keeps the new address', async () => {
    const owner = await signUp(ctx.app, smtp);
    const target = uniqueEmail('late');
    await moveTo(owner.accessToken, owner.password, target);
    const revert = await mailedToken(smtp, owner.email, REVERT_PATH);
    clock.advance(7 * DAY + MINUTE);
    expectProblem(await revertEmail(ctx.app, revert), 400, 'invalid_token');
    expect((await userByEmail(ctx.database.db, target))?.id).toBe(owner.userId);
    expect((await login(ctx.app, target, owner.password)).userId).toBe(owner.userId);
  });

  it('a thief who moves the address twice cannot use the second revert link to keep the account: the first owner still reverts, and the links mailed to the thief die', async () => {
    const owner = await signUp(ctx.app, smtp);
    const first = uniqueEmail('thief-one');
    const second = uniqueEmail('thief-two');
    await moveTo(owner.accessToken, owner.password, first);
    const ownersRevert = await mailedToken(smtp, owner.email, REVERT_PATH);
    clock.advance(MINUTE);
    await moveTo(owner.accessToken, owner.password, second);
    const thiefsRevert = await mailedToken(smtp, first, REVERT_PATH);

    // The thief "reverts" to their first address: it blocks the password and mails them a reset.
    expect((await revertEmail(ctx.app, thiefsRevert)).statusCode).toBe(204);
    const thiefsReset = await mailedToken(smtp, first, RESET_PATH);
    clock.advance(MINUTE);

    // The owner's link still works, and kills what was mailed to the thief.
    expect((await revertEmail(ctx.app, ownersRevert)).statusCode).toBe(204);
    expect((await userByEmail(ctx.database.db, owner.email))?.id).toBe(owner.userId);
    expectProblem(
      await post(ctx.app, '/auth/password/reset', {
        token: thiefsReset,
        newPassword: NEW_PASSWORD,
      }),
      400,
      'invalid_token',
    );
    const ownersReset = await mailedToken(smtp, owner.email, RESET_PATH);
    expect(
      (
        await post(ctx.app, '/auth/password/reset', {
          token: ownersReset,
          newPassword: NEW_PASSWORD,
        })
      ).statusCode,
    ).toBe(204);
    expect((await login(ctx.app, owner.email, NEW_PASSWORD)).userId).toBe(owner.userId);
  });
});
