/**
 * @bastion/client in Chromium (issue 18): a single-page app served from another loopback origin
 * (a CORS_ORIGINS entry; 127.0.0.1 on two ports is one site, so the SameSite=Strict cookies flow)
 * loads the client bundled by esbuild, signs in, survives a reload on the refresh cookie, refreshes
 * from two tabs at once (uncoordinated: inside the server's grace window; coordinated: one refresh
 * for both tabs through a Web Lock and a BroadcastChannel) without either tab losing the session,
 * and logs out in one tab, which signs the other out too.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot } from '../../../test/support/browser.js';
import { type Bastion, STRONG_PASSWORD, startBastion } from './server.js';

const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/** The SPA: the bundle at /client.js and one page that exposes a client to the test. */
function spaPage(api: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Notes SPA</title></head>
<body><main><h1>Notes</h1><p id="status">loading</p></main>
<script type="module">
import { createBastionClient } from '/client.js';
const coordinate = new URLSearchParams(location.search).get('coordinate') !== '0';
const client = createBastionClient({ baseUrl: ${JSON.stringify(api)}, crossTab: coordinate });
window.events = [];
const status = document.getElementById('status');
async function render() {
  if (!client.signedIn) { status.textContent = 'Signed out'; return; }
  const { data } = await client.api.GET('/auth/me');
  status.textContent = data ? 'Signed in as ' + data.user.email : 'Signed out';
}
client.onChange((event) => { window.events.push(event); void render(); });
window.client = client;
window.meStatus = async () => (await client.api.GET('/auth/me')).response.status;
window.restored = client.restore().then(async (ok) => { await render(); return ok; });
</script></body></html>`;
}

let bastion: Bastion;
let spa: { base: string; setApi(api: string): void; close(): Promise<void> };
let browser: Browser;
let context: BrowserContext;

async function serveSpa(bundle: string): Promise<typeof spa> {
  let api = '';
  const server = createServer((req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
    } else {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(spaPage(api));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    setApi: (value: string) => {
      api = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

beforeAll(async () => {
  const bundled = await build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@bastion/source'],
    write: false,
  });
  const bundle = bundled.outputFiles[0]?.text ?? '';
  // The browser bundle carries no Node code (the cookie jar lives in @bastion/client/node).
  expect(bundle).not.toMatch(/tough-cookie|node:/);
  spa = await serveSpa(bundle);
  bastion = await startBastion({ CORS_ORIGINS: spa.base });
  spa.setApi(bastion.base);
  browser = await launchChromium();
  context = await browser.newContext();
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await bastion?.close();
  await spa?.close();
});

function run<T>(page: Page, js: string): Promise<T> {
  return page.evaluate(js) as Promise<T>;
}

async function open(page: Page, query = ''): Promise<boolean> {
  await page.goto(`${spa.base}/${query}`);
  return run<boolean>(page, 'window.restored');
}

// One SPA session's story, in order (sign in, reload, refresh in two tabs, log out): CI's
// shuffled order must not log out first.
describe('a single-page app on another origin', { shuffle: false }, () => {
  let email: string;
  let tabA: Page;
  let tabB: Page;

  it('signs in and calls the API with the access token', async () => {
    ({ email } = await bastion.newAccount());
    tabA = await context.newPage();
    expect(await open(tabA)).toBe(false);
    const result = await run<{ status: string }>(
      tabA,
      `client.login({ email: ${JSON.stringify(email)}, password: ${JSON.stringify(STRONG_PASSWORD)} })`,
    );
    expect(result.status).toBe('signed_in');
    expect(await run<number>(tabA, 'meStatus()')).toBe(200);
    await tabA.waitForFunction(
      `document.getElementById('status').textContent.startsWith('Signed in')`,
    );
    await screenshot(tabA, 'client-spa-signed-in');
  });

  it('survives a reload: the refresh cookie and the readable CSRF cookie resume the session', async () => {
    const before = bastion.refreshes();
    expect(await open(tabA)).toBe(true);
    expect(bastion.refreshes() - before).toBe(1);
    expect(await run<number>(tabA, 'meStatus()')).toBe(200);
  });

  it('two uncoordinated tabs refresh at once inside the grace window; neither logs the other out', async () => {
    await open(tabA, '?coordinate=0');
    tabB = await context.newPage();
    expect(await open(tabB, '?coordinate=0')).toBe(true);
    // Both refreshes are held in the browser until both are on their way, so they carry the same
    // refresh cookie, as two tabs waking at once do: the second one is a reuse the server must
    // answer from the grace window, not treat as theft.
    const held: { cookie: string; go: () => Promise<void> }[] = [];
    let bothHeld: () => void = () => {};
    const together = new Promise<void>((resolve) => {
      bothHeld = resolve;
    });
    await context.route('**/auth/refresh', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const headers = await route.request().allHeaders();
      held.push({ cookie: headers.cookie ?? '', go: () => route.continue() });
      if (held.length === 2) bothHeld();
    });
    const start = bastion.answers.length;
    const refreshed = Promise.all([run(tabA, 'client.refresh()'), run(tabB, 'client.refresh()')]);
    await together;
    const sent = held.map((h) => /bastion_refresh=([^;]+)/.exec(h.cookie)?.[1]);
    expect(sent[0]).toMatch(/.+/);
    expect(sent[1]).toBe(sent[0]);
    await Promise.all(held.map((h) => h.go()));
    await refreshed;
    await context.unrouteAll();
    const refreshes = bastion.answers.slice(start).filter((a) => a.path === '/auth/refresh');
    expect(refreshes.map((a) => a.status)).toEqual([200, 200]);
    expect(await run<number>(tabA, 'meStatus()')).toBe(200);
    expect(await run<number>(tabB, 'meStatus()')).toBe(200);
    // The session goes on: both tabs refresh again with the cookie they now share.
    await run(tabA, 'client.refresh()');
    await run(tabB, 'client.refresh()');
    expect(await run<number>(tabB, 'meStatus()')).toBe(200);
  });

  it('two coordinated tabs refreshing at once make one refresh: the other tab takes its token', async () => {
    expect(await open(tabA)).toBe(true);
    expect(await open(tabB)).toBe(true);
    const before = bastion.refreshes();
    await Promise.all([run(tabA, 'client.refresh()'), run(tabB, 'client.refresh()')]);
    expect(bastion.refreshes() - before).toBe(1);
    const tokens = await Promise.all([
      run<string>(tabA, 'client.accessToken()'),
      run<string>(tabB, 'client.accessToken()'),
    ]);
    expect(tokens[0]).toBe(tokens[1]);
    expect(await run<number>(tabB, 'meStatus()')).toBe(200);
  });

  it('logs out: both tabs are signed out, and a reload stays signed out', async () => {
    await run(tabA, 'client.logout()');
    await tabB.waitForFunction('window.events.includes("signed_out")');
    expect(await run<boolean>(tabB, 'client.signedIn')).toBe(false);
    expect(await run<number>(tabB, 'meStatus()')).toBe(401);
    expect(await open(tabA)).toBe(false);
    await tabA.waitForFunction(`document.getElementById('status').textContent === 'Signed out'`);
    await screenshot(tabA, 'client-spa-signed-out');
  });
});
