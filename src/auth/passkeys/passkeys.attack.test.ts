/**
 * Attacks on passkeys (issue 15): a replayed challenge, a challenge issued to another account or
 * another browser, a response made for another origin or RP ID, no user verification, a cloned
 * authenticator (counter going backwards), a credential id another account registered, another
 * user's passkey, and adding or removing one without a recent login.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../../../test/support/accounts.js';
import { createActor } from '../../../test/support/actors.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { SETUP_TIMEOUT_MS } from '../../../test/support/mfa.js';
import {
  addPasskey,
  loginOptions,
  loginVerify,
  registerOptions,
  registerVerify,
  SoftAuthenticator,
} from '../../../test/support/passkeys.js';
import { manualClock } from '../../platform/clock.js';

const ORIGIN = 'http://127.0.0.1:3000';
const clock = manualClock();
let ctx: TestContext;
const auth = new SoftAuthenticator(ORIGIN);

beforeAll(async () => {
  ctx = await createTestApp({ deps: { clock } });
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

const actor = (prefix: string) => createActor(ctx.app, ctx.database.db, { prefix });
const passkeysOf = (userId: string) =>
  ctx.database.db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).execute();

describe('passkey registration attacks', () => {
  it('a registration challenge is single-use: the same response twice stores one passkey', async () => {
    const user = await actor('pkreplay');
    const made = auth.create((await registerOptions(ctx.app, user.accessToken)).json());
    expect((await registerVerify(ctx.app, user.accessToken, made.response)).statusCode).toBe(201);
    const again = await registerVerify(ctx.app, user.accessToken, made.response);
    expectProblem(again, 400, 'passkey_challenge_invalid');
    expect(await passkeysOf(user.userId)).toHaveLength(1);
  });

  it("another account's challenge does not register a passkey to the caller", async () => {
    const victim = await actor('pkvictim');
    const attacker = await actor('pkattacker');
    const options = (await registerOptions(ctx.app, victim.accessToken)).json();
    const made = auth.create(options);
    const res = await registerVerify(ctx.app, attacker.accessToken, made.response);
    expectProblem(res, 400, 'passkey_challenge_invalid');
    expect(await passkeysOf(attacker.userId)).toHaveLength(0);
    // Refused whole: the victim's own challenge still works once.
    expect((await registerVerify(ctx.app, victim.accessToken, made.response)).statusCode).toBe(201);
  });

  it('a response made for another origin, another RP ID or without user verification is refused', async () => {
    const user = await actor('pkorigin');
    for (const forge of [
      { origin: 'https://evil.example' },
      { rpId: 'evil.example' },
      { userVerified: false },
      { type: 'webauthn.get' },
    ]) {
      const made = auth.create((await registerOptions(ctx.app, user.accessToken)).json(), forge);
      const res = await registerVerify(ctx.app, user.accessToken, made.response);
      expectProblem(res, 400, 'passkey_invalid');
    }
    // A made-up challenge was never issued.
    const made = auth.create((await registerOptions(ctx.app, user.accessToken)).json(), {
      challenge: 'bm90LWlzc3VlZA',
    });
    const res = await registerVerify(ctx.app, user.accessToken, made.response);
    expectProblem(res, 400, 'passkey_challenge_invalid');
    expect(await passkeysOf(user.userId)).toHaveLength(0);
  });

  it("a credential id another account registered cannot be registered again (it would hijack that account's sign-ins)", async () => {
    const owner = await actor('pkowner');
    const taken = await addPasskey(ctx.app, owner.accessToken, auth);
    const attacker = await actor('pkclaimer');
    const made = auth.create((await registerOptions(ctx.app, attacker.accessToken)).json(), {
      credentialId: taken.credential.id,
    });
    const res = await registerVerify(ctx.app, attacker.accessToken, made.response);
    expectProblem(res, 409, 'passkey_exists');
    expect(await passkeysOf(attacker.userId)).toHaveLength(0);
    const [row] = await passkeysOf(owner.userId);
    expect(row?.credential_id).toBe(taken.credential.id);
  });

  it('adding or removing a passkey needs a recent login (401 reauthentication_required)', async () => {
    const user = await actor('pkstale');
    const key = await addPasskey(ctx.app, user.accessToken, auth);
    const options = (await registerOptions(ctx.app, user.accessToken)).json();
    clock.advance(6 * 60_000);
    try {
      expectProblem(
        await registerOptions(ctx.app, user.accessToken),
        401,
        'reauthentication_required',
      );
      const made = auth.create(options);
      expectProblem(
        await registerVerify(ctx.app, user.accessToken, made.response),
        401,
        'reauthentication_required',
      );
      const del = await ctx.app.inject({
        method: 'DELETE',
        url: `/auth/passkeys/${key.id}`,
        headers: user.headers,
      });
      expectProblem(del, 401, 'reauthentication_required');
      expect(await passkeysOf(user.userId)).toHaveLength(1);
    } finally {
      clock.advance(-6 * 60_000);
    }
  });

  it("another user's passkey cannot be renamed or removed (404) and stays", async () => {
    const owner = await actor('pkmine');
    const key = await addPasskey(ctx.app, owner.accessToken, auth);
    const other = await actor('pkthief');
    const del = await ctx.app.inject({
      method: 'DELETE',
      url: `/auth/passkeys/${key.id}`,
      headers: other.headers,
    });
    expectProblem(del, 404, 'not_found');
    const patch = await ctx.app.inject({
      method: 'PATCH',
      url: `/auth/passkeys/${key.id}`,
      headers: other.headers,
      payload: { name: 'pwned' },
    });
    expectProblem(patch, 404, 'not_found');
    const [row] = await passkeysOf(owner.userId);
    expect(row?.name).toBe('Passkey');
  });
});

describe('passkey sign-in attacks', () => {
  it('a sign-in challenge is single-use: a captured assertion replayed is refused', async () => {
    const user = await actor('pkloginreplay');
    const { credential } = await addPasskey(ctx.app, user.accessToken, auth);
    const { options, cookie } = await loginOptions(ctx.app);
    const assertion = auth.get(options, credential);
    expect((await loginVerify(ctx.app, cookie, assertion)).statusCode).toBe(200);
    expectProblem(await loginVerify(ctx.app, cookie, assertion), 400, 'passkey_challenge_invalid');
  });

  it('a challenge issued to another browser, or no challenge cookie, signs nobody in', async () => {
    const user = await actor('pkbrowser');
    const { credential } = await addPasskey(ctx.app, user.accessToken, auth);
    const victimBrowser = await loginOptions(ctx.app);
    const attackerBrowser = await loginOptions(ctx.app);
    const assertion = auth.get(victimBrowser.options, credential);
    const res = await loginVerify(ctx.app, attackerBrowser.cookie, assertion);
    expectProblem(res, 400, 'passkey_challenge_invalid');
    expect(res.headers['set-cookie']).not.toContain('bastion_refresh');
    expectProblem(
      await loginVerify(ctx.app, undefined, assertion),
      400,
      'passkey_challenge_invalid',
    );
  });

  it('an assertion for another origin or RP ID, or without user verification, is refused', async () => {
    const user = await actor('pkloginorigin');
    const { credential } = await addPasskey(ctx.app, user.accessToken, auth);
    for (const forge of [
      { origin: 'https://evil.example' },
      { rpId: 'evil.example' },
      { userVerified: false },
      { type: 'webauthn.create' },
    ]) {
      const { options, cookie } = await loginOptions(ctx.app);
      const res = await loginVerify(ctx.app, cookie, auth.get(options, credential, forge));
      expectProblem(res, 401, 'invalid_credentials');
    }
    // The real one still works: the refusals changed nothing but the throttle's count.
    const { options, cookie } = await loginOptions(ctx.app);
    expect((await loginVerify(ctx.app, cookie, auth.get(options, credential))).statusCode).toBe(
      200,
    );
  });

  it('a cloned authenticator (a counter that does not move forward) is refused', async () => {
    const user = await actor('pkclone');
    const { credential } = await addPasskey(ctx.app, user.accessToken, auth);
    for (let i = 0; i < 3; i++) {
      const { options, cookie } = await loginOptions(ctx.app);
      const res = await loginVerify(ctx.app, cookie, auth.get(options, credential));
      expect(res.statusCode, res.body).toBe(200);
    }
    for (const counter of [1, 3]) {
      const { options, cookie } = await loginOptions(ctx.app);
      const clone = auth.get(options, credential, { counter });
      expectProblem(await loginVerify(ctx.app, cookie, clone), 401, 'invalid_credentials');
    }
    const [row] = await passkeysOf(user.userId);
    expect(Number(row?.counter)).toBe(3);
  });

  it("an assertion that names another account's user handle is refused", async () => {
    const user = await actor('pkhandle');
    const other = await actor('pkhandle2');
    const { credential } = await addPasskey(ctx.app, user.accessToken, auth);
    const { options, cookie } = await loginOptions(ctx.app);
    const forged = { ...credential, userHandle: Buffer.from(other.userId).toString('base64url') };
    const res = await loginVerify(ctx.app, cookie, auth.get(options, forged));
    expectProblem(res, 401, 'invalid_credentials');
  });

  it('a locked account cannot sign in with its passkey', async () => {
    const user = await actor('pklocked');
    const { credential } = await addPasskey(ctx.app, user.accessToken, auth);
    await ctx.database.db
      .updateTable('users')
      .set({ locked: true })
      .where('id', '=', user.userId)
      .execute();
    const { options, cookie } = await loginOptions(ctx.app);
    const res = await loginVerify(ctx.app, cookie, auth.get(options, credential));
    expectProblem(res, 401, 'invalid_credentials');
  });
});
