/**
 * Attacks on POST /auth/password/change with a stolen access token (issue 14, item 1, and the
 * informational "a change leaves live links valid"): the route as a password oracle (wrong
 * current password 403 vs right one + weak new password 400), unthrottled guessing, one account
 * filling the hash pool so other users' logins answer 503, a change without the second factor,
 * and reset / "this was not me" links that outlive the change.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAL_LOGIN_LIMITS, randomIPv4, WRONG_PASSWORD } from '../../../test/support/abuse.js';
import {
  accountTestEnv,
  BUILD_TIMEOUT_MS,
  expectProblem,
  linkToken,
  post,
  waitForAccountMail,
} from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import {
  bearer,
  type LoggedIn,
  login,
  registerAndVerify,
  signUp,
  uniqueEmail,
} from '../../../test/support/auth.js';
import { enrolTotp, freshCode, wrongCode } from '../../../test/support/mfa.js';
import { startTestSmtp, type TestSmtp } from '../../../test/support/smtp.js';
import type { App } from '../../app.js';
import { manualClock } from '../../platform/clock.js';
import {
  createHashPool,
  type HashPool,
  type HashPoolRunOptions,
} from '../../platform/hash-pool.js';

const NEW_PASSWORD = 'amber-falcon-sings-over-7-quiet-bridges';

/**
 * The real pool wrapped to count runs and, while `gate` is set, hold every task it admits until
 * the gate opens: places stay taken for as long as the test needs, with no timing involved.
 */
function watchedPool(options: { concurrency: number; queue: number; perOwner: number }) {
  const inner = createHashPool(options);
  const watch = {
    inner,
    runs: 0,
    /** Most places one owner held right after a run was admitted. */
    peakPerOwner: 0,
    gate: undefined as Promise<void> | undefined,
  };
  const pool: HashPool = {
    run<T>(task: () => Promise<T>, run?: HashPoolRunOptions): Promise<T> {
      watch.runs++;
      const gate = watch.gate;
      const result = inner.run(
        gate
          ? async () => {
              await gate;
              return task();
            }
          : task,
        run,
      );
      if (run?.owner) watch.peakPerOwner = Math.max(watch.peakPerOwner, inner.heldBy(run.owner));
      return result;
    },
    hasRoom: (run) => inner.hasRoom(run),
    get active() {
      return inner.active;
    },
    get queued() {
      return inner.queued;
    },
    heldBy: (owner) => inner.heldBy(owner),
  };
  return { pool, watch };
}

function change(
  app: App,
  session: LoggedIn,
  body: Record<string, unknown>,
  ip?: string,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/auth/password/change',
    payload: body,
    headers: bearer(session.accessToken),
    ...(ip ? { remoteAddress: ip } : {}),
  });
}

/** Waits (without timing anything) until `done()` holds, checking once per macrotask turn. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise<void>((resolve) => setTimeout(resolve, 5));
}

describe('password change, account limits out of the way', () => {
  const clock = manualClock();
  let smtp: TestSmtp;
  let ctx: TestContext;
  const { pool, watch } = watchedPool({ concurrency: 2, queue: 3, perOwner: 1 });

  beforeAll(async () => {
    smtp = await startTestSmtp();
    ctx = await createTestApp({
      env: accountTestEnv(smtp),
      deps: { clock, hashPool: pool },
    });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    await smtp?.close();
  });

  it('a weak new password answers weak_password the same whatever the current password, and nothing is hashed', async () => {
    const session = await signUp(ctx.app, smtp);
    const before = watch.runs;
    const wrong = await change(ctx.app, session, {
      currentPassword: WRONG_PASSWORD,
      newPassword: 'password',
    });
    const right = await change(ctx.app, session, {
      currentPassword: session.password,
      newPassword: 'password',
    });
    const a = expectProblem(wrong, 400, 'weak_password');
    const b = expectProblem(right, 400, 'weak_password');
    const { requestId: _a, ...restA } = a;
    const { requestId: _b, ...restB } = b;
    expect(restA).toEqual(restB);
    // No verify ran: the answer cannot depend on the current password.
    expect(watch.runs).toBe(before);
  });

  it('60 concurrent changes from one account hold one pool place; other users log in meanwhile (no 503)', async () => {
    const victim = await signUp(ctx.app, smtp);
    const others = await Promise.all(
      [1, 2, 3].map(() => registerAndVerify(ctx.app, smtp, { email: uniqueEmail('bystander') })),
    );
    let open!: () => void;
    watch.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    watch.peakPerOwner = 0;
    let finished = 0;
    const changes = Array.from({ length: 60 }, () =>
      change(ctx.app, victim, { currentPassword: victim.password, newPassword: NEW_PASSWORD }).then(
        (res) => {
          finished++;
          return res;
        },
      ),
    );
    // Every change has either been answered or holds a (gated) place on the pool.
    await until(() => finished + watch.inner.active + watch.inner.queued >= 60);
    watch.gate = undefined;
    const logins = await Promise.all(
      others.map((o) => post(ctx.app, '/auth/login', { email: o.email, password: o.password })),
    );
    for (const res of logins) expect(res.statusCode, res.body).toBe(200);
    open();
    const answers = await Promise.all(changes);
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 204)).toHaveLength(1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(59);
    for (const res of answers.filter((r) => r.statusCode === 429)) {
      expectProblem(res, 429, 'rate_limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect(watch.peakPerOwner).toBe(1);
  });

  it('with MFA on, a change needs a code: none is 401 mfa_required (nothing hashed), a wrong one 401 invalid_mfa_code and counts', async () => {
    const session = await signUp(ctx.app, smtp);
    const { secret } = await enrolTotp(ctx.app, session.accessToken, clock);
    const body = { currentPassword: session.password, newPassword: NEW_PASSWORD };

    const before = watch.runs;
    expectProblem(await change(ctx.app, session, body), 401, 'mfa_required');
    expect(watch.runs).toBe(before);

    // Wrong codes spend the account's code budget (RATE_LIMIT_MFA_CODES, 10 by default).
    for (let i = 0; i < 10; i++) {
      expectProblem(
        await change(ctx.app, session, { ...body, code: wrongCode(secret, clock.now()) }),
        401,
        'invalid_mfa_code',
      );
    }
    expectProblem(
      await change(ctx.app, session, { ...body, code: freshCode(secret, clock) }),
      429,
      'rate_limited',
    );
    expect(watch.runs).toBe(before);
    // The password did not change.
    await expect(login(ctx.app, session.email, NEW_PASSWORD)).rejects.toThrow(/401/);
  });

  it('with MFA on and the right code, the change goes through', async () => {
    const session = await signUp(ctx.app, smtp);
    const { secret } = await enrolTotp(ctx.app, session.accessToken, clock);
    const res = await change(ctx.app, session, {
      currentPassword: session.password,
      newPassword: NEW_PASSWORD,
      code: freshCode(secret, clock),
    });
    expect(res.statusCode, res.body).toBe(204);
  });

  it('reset and "this was not me" links mailed before a change are invalid_token after it', async () => {
    const session = await signUp(ctx.app, smtp);
    // The first login from this "device" mailed a new-sign-in notice with a "not me" link.
    const notMe = linkToken(
      await waitForAccountMail(smtp, session.email, 'newDevice'),
      'newDevice',
    );
    expect(
      (await post(ctx.app, '/auth/password/forgot', { email: session.email })).statusCode,
    ).toBe(202);
    const reset = linkToken(await waitForAccountMail(smtp, session.email, 'reset'), 'reset');

    const res = await change(ctx.app, session, {
      currentPassword: session.password,
      newPassword: NEW_PASSWORD,
    });
    expect(res.statusCode, res.body).toBe(204);

    expectProblem(
      await post(ctx.app, '/auth/password/reset', {
        token: reset,
        newPassword: 'copper-kettle-hums-beneath-4-winter-stars',
      }),
      400,
      'invalid_token',
    );
    expectProblem(
      await post(ctx.app, '/auth/secure-account', { token: notMe }),
      400,
      'invalid_token',
    );
    // The new password is the one in force.
    expect((await login(ctx.app, session.email, NEW_PASSWORD)).accessToken).toBeTruthy();
  });
});

describe('password change, real login limits', () => {
  let smtp: TestSmtp;
  let ctx: TestContext;

  beforeAll(async () => {
    smtp = await startTestSmtp();
    ctx = await createTestApp({
      env: { ...accountTestEnv(smtp), ...REAL_LOGIN_LIMITS },
    });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    await smtp?.close();
  });

  it('guessing currentPassword from many addresses counts in the account login throttle: 429 after the budget, and a security event', async () => {
    const session = await signUp(ctx.app, smtp);
    const free = Number(REAL_LOGIN_LIMITS.RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES);
    const statuses: number[] = [];
    // One guess per address: only the per-account count can stop them.
    for (let i = 0; i < free + 2; i++) {
      const res = await change(
        ctx.app,
        session,
        { currentPassword: `${WRONG_PASSWORD}-${i}`, newPassword: NEW_PASSWORD },
        randomIPv4(),
      );
      statuses.push(res.statusCode);
      if (res.statusCode === 429) expect(res.headers['retry-after']).toBeDefined();
    }
    expect(statuses.slice(0, free)).toEqual(Array(free).fill(403));
    expect(statuses.slice(free)).toContain(429);
    // The burst raised a security event naming the account.
    const events = await ctx.database.db
      .selectFrom('security_events')
      .select(['type', 'user_id'])
      .where('type', '=', 'account_throttled')
      .where('user_id', '=', session.userId)
      .execute();
    expect(events.length).toBeGreaterThanOrEqual(1);
  });
});
