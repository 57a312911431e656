/**
 * @bastion/client in Node against a real, listening Bastion (issue 18): password and MFA logins
 * carrying the challenge cookie in a tough-cookie jar, passkey registration and sign-in with a
 * software authenticator, auto-refresh past the access token's expiry (20 concurrent calls, one
 * refresh), a "reload" that resumes from the refresh cookie, logout, and typed errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeAt } from '../../../src/auth/mfa/totp.js';
import { enrolTotp, freshCode, STEP_MS } from '../../../test/support/mfa.js';
import { SoftAuthenticator } from '../../../test/support/passkeys.js';
import {
  type BastionClient,
  BastionError,
  createBastionClient,
  isBastionError,
  type PasskeyAssertion,
  type PasskeyAttestation,
  type TokenStorage,
  unwrap,
} from '../src/index.js';
import { cookieJarFetch } from '../src/node.js';
import { type Bastion, PAST_ACCESS_EXPIRY_MS, STRONG_PASSWORD, startBastion } from './server.js';

let bastion: Bastion;
beforeAll(async () => {
  bastion = await startBastion();
});
afterAll(async () => bastion?.close());

function memoryStorage(): TokenStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
    removeItem: (k) => void items.delete(k),
  };
}

function newClient(
  options: {
    jar?: ReturnType<typeof cookieJarFetch>;
    storage?: TokenStorage;
    now?: () => number;
  } = {},
) {
  const fetch = options.jar ?? cookieJarFetch();
  const client = createBastionClient({
    baseUrl: bastion.base,
    fetch,
    ...(options.storage ? { storage: options.storage } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return { client, fetch };
}

async function signedInClient(options: Parameters<typeof newClient>[0] = {}) {
  const account = await bastion.newAccount();
  const made = newClient(options);
  const result = await made.client.login({ email: account.email, password: STRONG_PASSWORD });
  expect(result.status).toBe('signed_in');
  return { ...made, account };
}

async function me(client: BastionClient) {
  return unwrap(await client.api.GET('/auth/me'));
}

describe('login', () => {
  it('signs in with a password; calls carry the token; the jar holds the refresh and CSRF cookies', async () => {
    const { client, fetch, account } = await signedInClient();
    expect(client.signedIn).toBe(true);
    expect((await me(client)).user.id).toBe(account.userId);
    const names = (await fetch.jar.getCookies(bastion.base)).map((c) => c.key).sort();
    expect(names).toEqual(['bastion_csrf', 'bastion_device', 'bastion_refresh']);
  });

  it('a wrong password is a BastionError with the problem code', async () => {
    const account = await bastion.newAccount();
    const { client } = newClient();
    const err = await client
      .login({ email: account.email, password: 'not-the-password-at-all' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BastionError);
    expect(err).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(isBastionError(err, 'invalid_credentials')).toBe(true);
    expect((err as BastionError).requestId).toMatch(/.+/);
    expect(client.signedIn).toBe(false);
  });

  it('with MFA on: mfa_required with the token, then loginMfa(code) with the challenge cookie', async () => {
    const account = await bastion.newAccount();
    const { secret } = await enrolTotp(bastion.served.ctx.app, account.accessToken, bastion.clock);
    const { client, fetch } = newClient();
    const first = await client.login({ email: account.email, password: STRONG_PASSWORD });
    expect(first.status).toBe('mfa_required');
    if (first.status !== 'mfa_required') return;
    expect(first.mfaToken.length).toBeGreaterThan(20);
    expect(client.signedIn).toBe(false);
    // The challenge cookie is in the jar, scoped to the second step's path.
    const mfaCookies = await fetch.jar.getCookies(`${bastion.base}/auth/login/mfa`);
    expect(mfaCookies.map((c) => c.key)).toContain('bastion_mfa');

    // A wrong code is a typed error and leaves the login waiting.
    const valid = new Set([-1, 0, 1].map((d) => codeAt(secret, bastion.clock.now() + d * STEP_MS)));
    const wrong = ['000000', '111111', '222222'].find((c) => !valid.has(c)) as string;
    await expect(client.loginMfa(wrong)).rejects.toMatchObject({ code: 'invalid_mfa_code' });

    const done = await client.loginMfa(freshCode(secret, bastion.clock));
    expect(done.status).toBe('signed_in');
    expect((await me(client)).user.id).toBe(account.userId);

    // The same token from a client without the challenge cookie is refused.
    const again = newClient().client;
    await expect(
      again.loginMfa(freshCode(secret, bastion.clock), first.mfaToken),
    ).rejects.toMatchObject({
      status: 401,
      code: 'invalid_mfa_token',
    });
  });

  it('registers a passkey, then signs in with it (a software authenticator in place of navigator.credentials)', async () => {
    const { client, account } = await signedInClient();
    const authenticator = new SoftAuthenticator(bastion.base);
    const passkey = await client.registerPasskey(
      async (options) =>
        authenticator.create(options as Parameters<SoftAuthenticator['create']>[0])
          .response as PasskeyAttestation,
      'test key',
    );
    expect(passkey.name).toBe('test key');
    const credential = authenticator.credentials[0];
    if (!credential) throw new Error('no credential');

    const other = newClient().client;
    const signedIn = await other.signInWithPasskey(
      async (options) => authenticator.get(options, credential) as PasskeyAssertion,
    );
    expect(signedIn.user.id).toBe(account.userId);
    expect((await me(other)).user.id).toBe(account.userId);

    // Another origin's assertion is refused as the server says.
    const third = newClient().client;
    const err = await third
      .signInWithPasskey(
        async (options) =>
          authenticator.get(options, credential, {
            origin: 'https://evil.example',
          }) as PasskeyAssertion,
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 401, code: 'invalid_credentials' });
  });
});

describe('refresh', () => {
  it('20 concurrent calls after the access token expired cause exactly one POST /auth/refresh', async () => {
    const { client } = await signedInClient();
    const token = await client.accessToken();
    bastion.clock.advance(PAST_ACCESS_EXPIRY_MS);
    const before = bastion.refreshes();
    const started = bastion.answers.length;
    const results = await Promise.all(Array.from({ length: 20 }, () => client.api.GET('/auth/me')));
    expect(results.map((r) => r.response.status)).toEqual(Array(20).fill(200));
    expect(bastion.refreshes() - before).toBe(1);
    // They were refused with the old token first: the server, not the client, saw it expire.
    const unauthorized = bastion.answers
      .slice(started)
      .filter((a) => a.path === '/auth/me' && a.status === 401);
    expect(unauthorized.length).toBeGreaterThan(0);
    expect(await client.accessToken()).not.toBe(token);
  });

  it("refreshes before a call when the client's clock says the token is about to expire", async () => {
    let skew = 0;
    const { client } = await signedInClient({ now: () => Date.now() + skew });
    skew = 14.75 * 60_000; // 15 s left: inside the leeway
    const before = bastion.refreshes();
    const started = bastion.answers.length;
    await Promise.all(Array.from({ length: 5 }, () => me(client)));
    expect(bastion.refreshes() - before).toBe(1);
    expect(bastion.answers.slice(started).filter((a) => a.status === 401)).toEqual([]);
  });

  it('a new client with the same cookie jar and storage resumes the session (a reload)', async () => {
    const storage = memoryStorage();
    const jar = cookieJarFetch();
    const { account } = await signedInClient({ jar, storage });
    expect(storage.items.get('bastion.csrf')).toMatch(/.+/);
    const reloaded = newClient({ jar, storage }).client;
    expect(reloaded.signedIn).toBe(true);
    expect(await reloaded.restore()).toBe(true);
    expect((await me(reloaded)).user.id).toBe(account.userId);
  });
});

describe('logout', () => {
  it('ends the session: calls are 401 unauthorized, refresh is refused, a reload is signed out', async () => {
    const storage = memoryStorage();
    const jar = cookieJarFetch();
    const { client } = await signedInClient({ jar, storage });
    const events: string[] = [];
    client.onChange((e) => events.push(e));
    const token = await client.accessToken();
    await client.logout();
    expect(events).toEqual(['signed_out']);
    expect(client.signedIn).toBe(false);
    expect(storage.items.size).toBe(0);
    // The old access token is dead on the server, not only forgotten here.
    const res = await fetch(`${bastion.base}/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
    await expect(me(client)).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    await expect(client.refresh()).rejects.toBeInstanceOf(BastionError);
    expect(await newClient({ jar, storage }).client.restore()).toBe(false);
  });

  it('an expired access token does not stop a logout (refresh cookie + CSRF token)', async () => {
    const { client, fetch } = await signedInClient();
    bastion.clock.advance(PAST_ACCESS_EXPIRY_MS);
    await client.logout();
    const csrf = (await fetch.jar.getCookies(bastion.base)).find((c) => c.key === 'bastion_csrf');
    expect(csrf).toBeUndefined();
    // The refresh token in the jar (cleared by the answer) no longer refreshes anything.
    const res = await fetch(`${bastion.base}/auth/refresh`, { method: 'POST' });
    expect(res.status).toBe(401);
  });
});

describe('typed errors', () => {
  it('unwrap throws the problem with its code and validation errors', async () => {
    const { client } = newClient();
    const err = await client.api
      .POST('/auth/register', { body: { email: 'nope', password: 'x', displayName: '' } })
      .then(unwrap)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BastionError);
    const problem = err as BastionError;
    expect(problem.status).toBe(400);
    expect(['validation_failed', 'weak_password']).toContain(problem.code);
    expect(problem.title).toMatch(/.+/);
  });

  it('signed out, a protected call is 401 unauthorized and nothing tries to refresh', async () => {
    const { client } = newClient();
    const before = bastion.refreshes();
    await expect(me(client)).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(bastion.refreshes()).toBe(before);
  });
});
