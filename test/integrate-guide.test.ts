/**
 * docs/integrate.md runs (issue 18 §4). Every fenced block of the guide is titled: `snippet:<name>`
 * blocks are TypeScript modules, cut out into test-artifacts/integrate-guide/, type-checked with
 * the project's compiler options (plus the DOM library, for the browser ones), and imported here
 * (Node) or bundled with esbuild into Chromium pages (browser); their exports are called against a
 * real, listening Bastion. `env:<name>` blocks must load through Bastion's configuration loader;
 * `illustrative` blocks are not run. Stripe's API is the one thing not reached: `startTopUp` gets
 * a stand-in for Stripe's client that records the PaymentIntent it asks for, and the event Stripe
 * would then send is delivered, signed, to the real webhook route.
 *
 * Shapes in Chromium: "same origin" runs the guide's page code on Bastion's own origin (the page
 * is Bastion's `/health/live` with the script added and CSP bypassed, as a proxy would serve your
 * app's script there); "sibling subdomain" serves the page from `app.example.localhost` and talks
 * to a second instance (same database and state) at `auth.example.localhost`, which Chromium
 * resolves to the loopback address: two subdomains of one site, as `app.` and `auth.example.com`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import type Stripe from 'stripe';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from '../packages/verify/src/index.js';
import { loadConfig } from '../src/config.js';
import { manualClock } from '../src/platform/clock.js';
import { createActor } from './support/actors.js';
import { createTestApp, type TestContext } from './support/app.js';
import { STRONG_PASSWORD, uniqueEmail } from './support/auth.js';
import { chromiumPath, type ServedApp, serveApp } from './support/browser.js';
import { enrolTotp, freshCode } from './support/mfa.js';
import { WEBHOOK_SECRET } from './support/shop.js';
import { extractLink, startTestSmtp, type TestSmtp } from './support/smtp.js';

const GUIDE = resolve('docs/integrate.md');
const OUT = resolve('test-artifacts/integrate-guide');
const ORDERS = 'https://orders.example.com';
const SERVICE_TOKEN = `svc-guide-${'g'.repeat(40)}`;
const LINK_BASE = 'https://app.example.com/account-links';

interface Block {
  readonly lang: string;
  readonly title: string;
  readonly code: string;
}

/** Every fenced block of the guide with its language and title. */
function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const fence = /^```(\S*)([^\n]*)\n([\s\S]*?)^```\s*$/gm;
  for (const m of markdown.matchAll(fence)) {
    const title = /title="([^"]+)"/.exec(m[2] ?? '')?.[1] ?? '';
    blocks.push({ lang: m[1] ?? '', title, code: m[3] ?? '' });
  }
  return blocks;
}

const blocks = fencedBlocks(readFileSync(GUIDE, 'utf8'));
const snippets = new Map(
  blocks
    .filter((b) => b.title.startsWith('snippet:'))
    .map((b) => [b.title.slice('snippet:'.length), b.code]),
);
const BROWSER_SNIPPETS = ['same-origin', 'spa', 'passkeys'];
const NODE_SNIPPETS = [
  'native',
  'raw-http',
  'mailed-link',
  'top-up',
  'test-webhook',
  'verify-kit',
  'verify-jose',
  'revocation-feed',
];

function snippetFile(name: string): string {
  return join(OUT, `${name}.ts`);
}

// The modules are written at collection time, so the imports below can load them.
mkdirSync(OUT, { recursive: true });
for (const [name, code] of snippets) writeFileSync(snippetFile(name), code);

// biome-ignore lint/suspicious/noExplicitAny: the snippets' own types are checked by tsc below
async function load(name: string): Promise<any> {
  return import(/* @vite-ignore */ snippetFile(name));
}

function payloadOf(token: string): { sub: string; sid: string } {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

async function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((done) => server.listen(0, host, done));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
}

describe('the guide itself', () => {
  it('titles every fenced block: a snippet that runs, a configuration that loads, or illustrative', () => {
    for (const b of blocks) {
      expect(b.title, `a \`\`\`${b.lang} block`).toMatch(
        /^(snippet:[a-z-]+|env:[a-z-]+|illustrative)$/,
      );
    }
    const titles = blocks.map((b) => b.title).filter((t) => t !== 'illustrative');
    expect(new Set(titles).size).toBe(titles.length);
    expect([...snippets.keys()].sort()).toEqual([...BROWSER_SNIPPETS, ...NODE_SNIPPETS].sort());
    expect(blocks.filter((b) => b.title === 'illustrative')).toHaveLength(1);
  });

  it('every env block is a configuration Bastion loads, with the settings the guide says', () => {
    const envs = blocks.filter((b) => b.title.startsWith('env:'));
    expect(envs.length).toBeGreaterThanOrEqual(4);
    for (const b of envs) {
      const env: Record<string, string> = {};
      for (const line of b.code.split('\n').filter((l) => l.trim() !== '')) {
        const eq = line.indexOf('=');
        expect(eq, line).toBeGreaterThan(0);
        env[line.slice(0, eq)] = line.slice(eq + 1);
      }
      const config = loadConfig({ NODE_ENV: 'development', ...env });
      expect(config.secureCookies, b.title).toBe(true);
      if (env.CORS_ORIGINS) expect(config.corsOrigins).toEqual(env.CORS_ORIGINS.split(','));
      if (env.LINK_BASE_URL) expect(config.linkBaseUrl).toBe(env.LINK_BASE_URL);
      if (env.JWT_AUDIENCE) expect(config.jwt.audiences).toEqual(env.JWT_AUDIENCE.split(','));
      if (env.SERVICE_TOKENS) expect(config.serviceTokens).toEqual([env.SERVICE_TOKENS]);
    }
  });

  it('every snippet type-checks under the project compiler options (DOM added)', () => {
    const parsed = ts.getParsedCommandLineOfConfigFile(
      resolve('tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    if (!parsed) throw new Error('tsconfig.json did not parse');
    const options = { ...parsed.options, lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'], noEmit: true };
    const files = [...snippets.keys()].map(snippetFile);
    const program = ts.createProgram(files, options);
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || files.includes(resolve(d.file.fileName)))
      .map((d) => {
        const where = d.file
          ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
          : '';
        return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(diagnostics).toEqual([]);
  }, 60_000);
});

// The snippets share one Bastion, one clock and the revocation feed's history; they run in the
// order the guide tells them (CI's shuffled order put the feed before its history and failed).
describe('the snippets against a listening Bastion', { shuffle: false }, () => {
  let served: ServedApp;
  let smtp: TestSmtp;
  let base: string;
  // Behind real time: each MFA code moves this clock 30 s forward (freshCode), while the snippets
  // that verify tokens elsewhere (jose, the kit) check nbf/exp against real time. Five minutes
  // behind leaves room for nine codes and keeps every token valid for ten real minutes.
  const clock = manualClock(Date.now() - 5 * 60_000);

  beforeAll(async () => {
    smtp = await startTestSmtp();
    served = await serveApp(
      {
        env: {
          SMTP_URL: smtp.url,
          LINK_BASE_URL: LINK_BASE,
          SERVICE_TOKENS: SERVICE_TOKEN,
          STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        },
        deps: { clock },
      },
      async (origin) => ({ JWT_AUDIENCE: `${origin},${ORDERS}` }),
      // WebAuthn needs a host name: the same-origin page below adds a passkey.
      'localhost',
    );
    base = served.base;
  });
  afterAll(async () => {
    await served?.close();
    await smtp?.close();
  });

  const account = (prefix: string) =>
    createActor(served.ctx.app, served.ctx.database.db, { prefix });

  async function passwordLogin(email: string): Promise<string> {
    const res = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: STRONG_PASSWORD }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { accessToken: string }).accessToken;
  }

  async function logout(token: string): Promise<void> {
    const res = await fetch(`${base}/auth/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(204);
  }

  describe('native and server clients', () => {
    it('snippet:native signs in through the MFA step, and a saved jar resumes until the session ends', async () => {
      const { signIn, whoAmI } = await load('native');
      const user = await account('native');
      const { secret } = await enrolTotp(served.ctx.app, user.accessToken, clock);
      let asked = 0;
      const saved: string = await signIn(base, user.email, STRONG_PASSWORD, async () => {
        asked += 1;
        return freshCode(secret, clock);
      });
      expect(asked).toBe(1);
      expect(saved).toContain('bastion_refresh');
      expect((await whoAmI(base, saved))?.id).toBe(user.userId);

      const all = await fetch(`${base}/auth/logout-all`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.accessToken}` },
      });
      expect(all.status).toBe(204);
      expect(await whoAmI(base, saved)).toBeNull();
    });

    it('snippet:raw-http refreshes with the cookie and X-CSRF-Token; the CSRF token is the session’s; logout clears site data', async () => {
      const { refreshByHand } = await load('raw-http');
      const user = await account('raw');
      expect(await refreshByHand(base, user.email, STRONG_PASSWORD)).toEqual({
        sameCsrfToken: true,
        logoutStatus: 204,
        clearSiteData: '"storage"',
      });
    });
  });

  it('snippet:mailed-link confirms an address from a LINK_BASE_URL page; a wrong password leaves the link usable', async () => {
    const { confirmAddress } = await load('mailed-link');
    const email = uniqueEmail('link');
    const registered = await fetch(`${base}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: STRONG_PASSWORD, displayName: 'Link' }),
    });
    expect(registered.status).toBe(202);
    const mail = await smtp.waitForMail(email, (m) => m.subject.includes('Confirm'), 15_000);
    const link = extractLink(mail, '/account-links/verify-email');
    expect(link.href.startsWith(`${LINK_BASE}/verify-email?token=`)).toBe(true);
    expect(await confirmAddress(base, link.href, 'not-the-password-at-all-42')).toBe(
      'invalid_credentials',
    );
    expect(await confirmAddress(base, link.href, STRONG_PASSWORD)).toBe('verified');
    expect(await confirmAddress(base, link.href, STRONG_PASSWORD)).toBe('invalid_token');
  });

  it('snippet:top-up asks Stripe for the verified user’s PaymentIntent; snippet:test-webhook credits it once', async () => {
    const { startTopUp } = await load('top-up');
    const { sendTestPayment } = await load('test-webhook');
    const user = await account('topup');
    const verifier = createVerifier({ issuer: base, audience: ORDERS });
    const asked: Stripe.PaymentIntentCreateParams[] = [];
    const stripe = {
      paymentIntents: {
        create: async (params: Stripe.PaymentIntentCreateParams) => {
          asked.push(params);
          return { client_secret: 'pi_guide_secret_guide' };
        },
      },
    };
    try {
      await expect(startTopUp(stripe, verifier, undefined, 500)).rejects.toMatchObject({
        code: 'token_missing',
      });
      expect(await startTopUp(stripe, verifier, `Bearer ${user.accessToken}`, 1234)).toEqual({
        clientSecret: 'pi_guide_secret_guide',
      });
    } finally {
      verifier.close();
    }
    expect(asked).toHaveLength(1);
    const intent = asked[0] as Stripe.PaymentIntentCreateParams;
    expect(intent).toMatchObject({ amount: 1234, currency: 'usd' });
    expect(intent.metadata).toEqual({ userId: user.userId });

    expect(await sendTestPayment(base, WEBHOOK_SECRET, user.userId, intent.amount)).toBe(200);
    expect(
      await sendTestPayment(base, 'whsec_not_the_endpoint_secret_0123456789', user.userId, 1),
    ).toBe(400);
    const wallet = await fetch(`${base}/wallet`, {
      headers: { authorization: `Bearer ${user.accessToken}` },
    });
    expect(await wallet.json()).toEqual({ balanceCents: 1234, currency: 'usd' });
  });

  describe('verifying tokens in another service', () => {
    it('snippet:verify-kit: a Fastify service accepts a Bastion token and refuses it once the session logs out', async () => {
      const { ordersService } = await load('verify-kit');
      const user = await account('kit');
      const token = await passwordLogin(user.email);
      const app = await ordersService(base, ORDERS, SERVICE_TOKEN);
      try {
        const service = await app.listen({ port: 0, host: '127.0.0.1' });
        const me = await fetch(`${service}/me`, { headers: { authorization: `Bearer ${token}` } });
        expect(me.status).toBe(200);
        expect(await me.json()).toMatchObject({
          userId: user.userId,
          sessionId: payloadOf(token).sid,
        });
        const missing = await fetch(`${service}/orders/nope`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(missing.status).toBe(404);
        expect((await fetch(`${service}/me`)).status).toBe(401);

        await logout(token);
        await expect
          .poll(
            async () =>
              (await fetch(`${service}/me`, { headers: { authorization: `Bearer ${token}` } }))
                .status,
            { timeout: 5000, interval: 100 },
          )
          .toBe(401);
        // The user's other session is untouched.
        const other = await fetch(`${service}/me`, {
          headers: { authorization: `Bearer ${user.accessToken}` },
        });
        expect(other.status).toBe(200);
      } finally {
        await app.close();
      }
    });

    it('snippet:verify-jose verifies through discovery with jose, and refuses a tampered token', async () => {
      const { makeVerifier } = await load('verify-jose');
      const user = await account('jose');
      const verify = await makeVerifier(base, ORDERS);
      const claims = await verify(user.accessToken);
      expect(claims).toMatchObject({ userId: user.userId, roles: ['user'] });
      expect(claims.sessionId).toBe(payloadOf(user.accessToken).sid);
      const [h, , s] = user.accessToken.split('.');
      const forged = Buffer.from(
        JSON.stringify({ ...payloadOf(user.accessToken), roles: ['user', 'admin'] }),
      ).toString('base64url');
      await expect(verify(`${h}.${forged}.${s}`)).rejects.toThrow();
      await expect(
        makeVerifier(base, 'https://other.example.com').then((v: (t: string) => Promise<unknown>) =>
          v(user.accessToken),
        ),
      ).rejects.toThrow(/aud/);
    });

    it('snippet:revocation-feed learns a logged-out session with a service token', async () => {
      const { revocationFollower } = await load('revocation-feed');
      const user = await account('feed');
      const token = await passwordLogin(user.email);
      const follower = revocationFollower(base, SERVICE_TOKEN);
      await follower.poll();
      expect(follower.isRevoked(payloadOf(token).sid)).toBe(false);
      await logout(token);
      await follower.poll();
      expect(follower.isRevoked(payloadOf(token).sid)).toBe(true);
      expect(follower.isRevoked(payloadOf(user.accessToken).sid)).toBe(false);
      await expect(revocationFollower(base, user.accessToken).poll()).rejects.toThrow(/401/);
    });
  });

  describe('in Chromium', () => {
    let browser: Browser;
    let bundle: string;
    let sibling: { auth: string; app: string; crossSite: string; close(): Promise<void> };

    beforeAll(async () => {
      const entry = BROWSER_SNIPPETS.map(
        (n, i) => `import * as m${i} from ${JSON.stringify(snippetFile(n))};`,
      ).join('\n');
      const exported = BROWSER_SNIPPETS.map((n, i) => `${JSON.stringify(n)}: m${i}`).join(', ');
      const out = await build({
        stdin: {
          contents: `${entry}\nglobalThis.guide = { ${exported} };`,
          resolveDir: process.cwd(),
          loader: 'ts',
        },
        bundle: true,
        write: false,
        format: 'iife',
        platform: 'browser',
        target: 'es2022',
        conditions: ['@bastion/source'],
        logLevel: 'silent',
      });
      bundle = out.outputFiles[0]?.text ?? '';

      browser = await chromium.launch({
        executablePath: chromiumPath(),
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--host-resolver-rules=MAP *.example.localhost 127.0.0.1',
        ],
      });

      // Shape 2: Bastion at auth.example.localhost (a second instance on the same database and
      // state), the app's page at app.example.localhost.
      const appServer = createServer((req, res) => {
        if (req.url === '/guide.js') {
          res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
        } else {
          res
            .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
            .end('<!doctype html><title>app</title><script src="/guide.js"></script>');
        }
      });
      const appPort = await listen(appServer);
      const appOrigin = `http://app.example.localhost:${appPort}`;
      // The same page from another site: a bare address is a site of its own.
      const crossSite = `http://127.0.0.1:${appPort}`;
      let ctx: TestContext | undefined;
      const authServer = createServer((req, res) => {
        if (ctx) ctx.app.routing(req, res);
        else res.writeHead(503).end();
      });
      const authOrigin = `http://auth.example.localhost:${await listen(authServer)}`;
      ctx = await createTestApp({
        env: { PUBLIC_URL: authOrigin, CORS_ORIGINS: `${appOrigin},${crossSite}` },
        database: served.ctx.database,
        state: served.ctx.state,
      });
      const built = ctx;
      sibling = {
        auth: authOrigin,
        app: appOrigin,
        crossSite,
        async close() {
          await closeServer(appServer);
          await closeServer(authServer);
          await built.close();
        },
      };
    });
    afterAll(async () => {
      await browser?.close();
      await sibling?.close();
    });

    /** Runs `body` in the page with `g` (the guide's modules) and `arg`. */
    const run = (page: Page, body: string, arg: unknown) =>
      page.evaluate(
        `(async (arg) => { const g = globalThis.guide; ${body} })(${JSON.stringify(arg)})`,
      );

    it('sibling subdomain (snippet:spa): signs in, survives a reload from localStorage’s CSRF token alone, signs out', async () => {
      const user = await account('spa');
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(sibling.app);
        const wrong = await run(
          page,
          `const c = g.spa.createClient(arg.auth);
           return await g.spa.signIn(c, arg.email, 'a wrong but long password 1', async () => '000000');`,
          { auth: sibling.auth, email: user.email },
        );
        expect(wrong).toBeNull();

        const signedIn = (await run(
          page,
          `const c = g.spa.createClient(arg.auth);
           const u = await g.spa.signIn(c, arg.email, arg.password, async () => { throw new Error('no MFA here'); });
           return { id: u.id, storage: { ...localStorage }, cookie: document.cookie };`,
          { auth: sibling.auth, email: user.email, password: STRONG_PASSWORD },
        )) as { id: string; storage: Record<string, string>; cookie: string };
        expect(signedIn.id).toBe(user.userId);
        // Only the CSRF token is stored; no access token; Bastion's cookies are not the page's.
        expect(Object.keys(signedIn.storage)).toEqual(['bastion.csrf']);
        expect(Object.values(signedIn.storage).join()).not.toMatch(/^eyJ/);
        expect(signedIn.cookie).toBe('');
        const cookies = await context.cookies(sibling.auth);
        expect(cookies.map((c) => c.name).sort()).toEqual([
          'bastion_csrf',
          'bastion_device',
          'bastion_refresh',
        ]);
        expect(
          cookies.every((c) => c.sameSite === 'Strict' && c.domain === 'auth.example.localhost'),
        ).toBe(true);

        await page.reload();
        const resumed = await run(
          page,
          `const u = await g.spa.currentUser(g.spa.createClient(arg.auth)); return u && u.id;`,
          { auth: sibling.auth },
        );
        expect(resumed).toBe(user.userId);

        const after = (await run(
          page,
          `await g.spa.signOut(g.spa.createClient(arg.auth));
           const again = await g.spa.currentUser(g.spa.createClient(arg.auth));
           return { again, storage: Object.keys(localStorage) };`,
          { auth: sibling.auth },
        )) as { again: unknown; storage: string[] };
        expect(after).toEqual({ again: null, storage: [] });
        const left = (await context.cookies(sibling.auth)).map((c) => c.name);
        expect(left).toEqual(['bastion_device']);
      } finally {
        await context.close();
      }
    });

    it('across sites the SameSite=Strict cookies never reach Bastion: a page on 127.0.0.1 (allowed by CORS) signs in but cannot resume', async () => {
      const user = await account('cross');
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(sibling.crossSite);
        const signedIn = await run(
          page,
          `const u = await g.spa.signIn(g.spa.createClient(arg.auth), arg.email, arg.password, async () => '');
           return u.id;`,
          { auth: sibling.auth, email: user.email, password: STRONG_PASSWORD },
        );
        expect(signedIn).toBe(user.userId);
        await page.reload();
        const resumed = await run(
          page,
          `return await g.spa.currentUser(g.spa.createClient(arg.auth));`,
          { auth: sibling.auth },
        );
        expect(resumed).toBeNull();
      } finally {
        await context.close();
      }
    });

    it('same origin (snippet:same-origin, snippet:passkeys): resumes from the CSRF cookie, adds a passkey, logout wipes the origin’s storage, the passkey signs in', async () => {
      const user = await account('same');
      // The page is served by Bastion's origin; its CSP would refuse the added script.
      const context = await browser.newContext({ bypassCSP: true });
      try {
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        await cdp.send('WebAuthn.enable');
        await cdp.send('WebAuthn.addVirtualAuthenticator', {
          options: {
            protocol: 'ctap2',
            transport: 'internal',
            hasResidentKey: true,
            hasUserVerification: true,
            isUserVerified: true,
            automaticPresenceSimulation: true,
          },
        });
        const open = async () => {
          await page.goto(`${base}/health/live`);
          await page.addScriptTag({ content: bundle });
        };
        await open();
        const signedIn = await run(
          page,
          `const u = await g.spa.signIn(g['same-origin'].createClient(), arg.email, arg.password, async () => '');
           localStorage.setItem('app.draft', 'kept by the app');
           return u.id;`,
          { email: user.email, password: STRONG_PASSWORD },
        );
        expect(signedIn).toBe(user.userId);

        await open();
        const resumed = (await run(
          page,
          `const c = g['same-origin'].createClient();
           const u = await g.spa.currentUser(c);
           const key = await g.passkeys.addPasskey(c, 'Guide laptop');
           await g.spa.signOut(c);
           return { id: u && u.id, passkey: key.name, storage: Object.keys(localStorage) };`,
          {},
        )) as { id: string; passkey: string; storage: string[] };
        expect(resumed).toEqual({ id: user.userId, passkey: 'Guide laptop', storage: [] });

        await open();
        const byPasskey = await run(
          page,
          `const c = g['same-origin'].createClient();
           const before = await g.spa.currentUser(c);
           const u = await g.passkeys.signInWithPasskey(c);
           return { before, id: u.id };`,
          {},
        );
        expect(byPasskey).toEqual({ before: null, id: user.userId });
      } finally {
        await context.close();
      }
    });
  });
});
