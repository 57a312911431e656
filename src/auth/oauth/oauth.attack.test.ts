/**
 * Attacks on social login (issue 16). A hand-made issuer signs whatever ID token an attacker
 * would want accepted; a real OpenID Provider plays the honest peer for the state and linking
 * attacks. Each is refused with its code and links nothing (the identities table says so).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser } from '../../../test/support/accounts.js';
import { createTestApp, type TestContext } from '../../../test/support/app.js';
import { uniqueEmail } from '../../../test/support/auth.js';
import {
  Browser,
  type RogueMode,
  startIdp,
  startRogueIssuer,
} from '../../../test/support/social.js';
import {
  clientFor,
  expectRefused,
  expectSignedIn,
  identitiesOf,
  PUBLIC,
  providerEnv,
  signIn,
  toCallback,
} from '../../../test/support/social-app.js';

const sub = () => `sub-${randomBytes(6).toString('hex')}`;

describe('attack: social login (issue 16)', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let rogue: Awaited<ReturnType<typeof startRogueIssuer>>;
  let ctx: TestContext;
  const browser = () => new Browser((url) => (url.origin === PUBLIC ? ctx.app : undefined));

  beforeAll(async () => {
    idp = await startIdp(clientFor('idp'));
    rogue = await startRogueIssuer(clientFor('rogue'));
    ctx = await createTestApp({
      env: { ...providerEnv('idp', idp.issuer), ...providerEnv('rogue', rogue.issuer) },
    });
  }, 180_000);
  afterAll(async () => {
    await ctx?.close();
    await idp?.close();
    await rogue?.close();
  });

  it('the hand-made issuer, behaving, signs in (so the refusals below are about the token)', async () => {
    rogue.misbehave('good');
    const person = { sub: sub(), email: uniqueEmail('rogue'), email_verified: true };
    rogue.as(person);
    expectSignedIn((await signIn(browser(), 'rogue')).page);
    expect(await identitiesOf(ctx.database.db, person.sub)).toHaveLength(1);
  });

  const forged: [RogueMode, string][] = [
    ['wrong_iss', 'an ID token from another issuer'],
    ['wrong_aud', 'an ID token for another client'],
    ['no_nonce', 'an ID token without the nonce'],
    ['replayed_nonce', "an ID token carrying an earlier flow's nonce"],
    ['expired', 'an expired ID token'],
    ['alg_none', 'an unsigned ID token (alg: none)'],
    ['hs256', 'an ID token MACed with the client secret (HS256 confusion)'],
  ];
  for (const [mode, what] of forged) {
    it(`${what} is refused: oauth_provider_error, nothing linked or created`, async () => {
      // The replayed nonce needs an earlier flow to have been seen.
      rogue.misbehave('good');
      rogue.as({ sub: sub(), email: uniqueEmail('warmup'), email_verified: true });
      await signIn(browser(), 'rogue');
      rogue.misbehave(mode);
      const person = { sub: sub(), email: uniqueEmail(mode), email_verified: true };
      rogue.as(person);
      expectRefused((await signIn(browser(), 'rogue')).page, 'oauth_provider_error');
      expect(await identitiesOf(ctx.database.db, person.sub)).toHaveLength(0);
      const users = await ctx.database.db
        .selectFrom('users')
        .select('id')
        .where('email_key', '=', person.email.toLowerCase())
        .execute();
      expect(users).toHaveLength(0);
    });
  }

  it('an unverified email at the provider does not join the local account that has it', async () => {
    const local = await insertUser(ctx.database.db, {
      email: uniqueEmail('victim'),
      passwordHash: 'x',
    });
    const person = { sub: sub(), email: local.email, email_verified: false };
    idp.as(person);
    expectRefused((await signIn(browser(), 'idp')).page, 'oauth_email_unverified');
    expect(await identitiesOf(ctx.database.db, person.sub)).toHaveLength(0);
  });

  it('a verified email does not join a local account whose own address is unverified', async () => {
    const local = await insertUser(ctx.database.db, {
      email: uniqueEmail('squatted'),
      passwordHash: 'x',
      verified: false,
    });
    const person = { sub: sub(), email: local.email, email_verified: true };
    idp.as(person);
    expectRefused((await signIn(browser(), 'idp')).page, 'oauth_email_unverified');
    expect(await identitiesOf(ctx.database.db, person.sub)).toHaveLength(0);
  });

  it('the same email under a different subject (a recycled address) cannot take over the account', async () => {
    const email = uniqueEmail('recycled');
    const owner = { sub: sub(), email, email_verified: true };
    idp.as(owner);
    expectSignedIn((await signIn(browser(), 'idp')).page);
    const newcomer = { sub: sub(), email, email_verified: true };
    idp.as(newcomer);
    expectRefused((await signIn(browser(), 'idp')).page, 'oauth_account_exists');
    expect(await identitiesOf(ctx.database.db, newcomer.sub)).toHaveLength(0);
  });

  it('a replayed callback (the same state and cookie again) is refused', async () => {
    const person = { sub: sub(), email: uniqueEmail('replay'), email_verified: true };
    idp.as(person);
    const b = browser();
    const callback = await toCallback(b, 'idp');
    const cookie = b.cookie(PUBLIC, 'bastion_oauth');
    expectSignedIn(await b.get(callback));
    // An attacker who captured both the URL and the flow cookie tries again.
    const thief = browser();
    thief.setCookie(PUBLIC, 'bastion_oauth', cookie);
    expectRefused(await thief.get(callback), 'oauth_state_invalid');
    expect(await identitiesOf(ctx.database.db, person.sub)).toHaveLength(1);
  });

  it("a callback with another browser's state (login CSRF) is refused", async () => {
    const person = { sub: sub(), email: uniqueEmail('csrf'), email_verified: true };
    idp.as(person);
    // The attacker runs the flow to the callback in their browser and hands the URL to a victim
    // whose browser started a flow of its own.
    const callback = await toCallback(browser(), 'idp');
    const victim = browser();
    await victim.get(`${PUBLIC}/auth/oauth/idp/start`);
    expect(victim.cookie(PUBLIC, 'bastion_oauth')).toBeTruthy();
    expectRefused(await victim.get(callback), 'oauth_state_invalid');
    expect(await identitiesOf(ctx.database.db, person.sub)).toHaveLength(0);
  });

  it('a callback without the start cookie is refused', async () => {
    const person = { sub: sub(), email: uniqueEmail('nocookie'), email_verified: true };
    idp.as(person);
    const callback = await toCallback(browser(), 'idp');
    expectRefused(await browser().get(callback), 'oauth_state_invalid');
    expect(await identitiesOf(ctx.database.db, person.sub)).toHaveLength(0);
  });

  it("a flow cookie sealed for one provider does not open at another's callback", async () => {
    const person = { sub: sub(), email: uniqueEmail('cross'), email_verified: true };
    rogue.misbehave('good');
    rogue.as(person);
    const b = browser();
    const callback = await toCallback(b, 'rogue');
    const other = new URL(callback);
    other.pathname = '/auth/oauth/idp/callback';
    expectRefused(await b.get(other), 'oauth_state_invalid');
    expect(await identitiesOf(ctx.database.db, person.sub)).toHaveLength(0);
  });

  it('consent refused at the provider is oauth_provider_error', async () => {
    const b = browser();
    const start = await b.get(`${PUBLIC}/auth/oauth/idp/start`);
    const state = new URL(start.location ?? '').searchParams.get('state') ?? '';
    const page = await b.get(
      `${PUBLIC}/auth/oauth/idp/callback?error=access_denied&state=${encodeURIComponent(state)}`,
    );
    expectRefused(page, 'oauth_provider_error');
  });

  it('start and callback are limited per address (RATE_LIMIT_OAUTH_PER_MINUTE)', async () => {
    const limited = await createTestApp({
      env: { ...providerEnv('idp', idp.issuer), RATE_LIMIT_OAUTH_PER_MINUTE: '3' },
    });
    try {
      const answers: (string | undefined)[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await limited.app.inject({
          method: 'GET',
          url: '/auth/oauth/idp/callback?state=x&code=y',
        });
        answers.push(res.headers.location as string | undefined);
      }
      expect(answers).toEqual([
        '/login?error=oauth_state_invalid',
        '/login?error=oauth_state_invalid',
        '/login?error=oauth_state_invalid',
        '/login?error=rate_limited',
      ]);
    } finally {
      await limited.close();
    }
  }, 180_000);
});

describe('attack: a provider that is down (issue 16)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    // Nothing listens on the discard port: discovery fails at once.
    ctx = await createTestApp({ env: providerEnv('down', 'http://127.0.0.1:9') });
  }, 180_000);
  afterAll(async () => {
    await ctx?.close();
  });

  it('start and callback answer /login?error=oauth_provider_error (no stack), and password login still answers', async () => {
    const b = new Browser((url) => (url.origin === PUBLIC ? ctx.app : undefined));
    for (let i = 0; i < 2; i++) {
      // The second start meets the discovery cool-down instead of the network.
      expectRefused(await b.get(`${PUBLIC}/auth/oauth/down/start`), 'oauth_provider_error');
    }
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: uniqueEmail('pw'), password: 'a-password-nobody-has-here' },
    });
    expect(login.statusCode).toBe(401);
    const refused = ctx.logs.filter((l) => l.event === 'oauth_refused');
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(refused)).not.toMatch(/stack|client_secret|secret-down/);
  });
});
