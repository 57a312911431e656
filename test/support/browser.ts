/**
 * A real Chromium (Debian's `chromium`, driven by playwright-core) against a real app over HTTP.
 *
 * The app's PUBLIC_URL must be the origin the browser uses: mailed links point there and the
 * cookie-authenticated calls compare `Origin` with it. A port cannot be known before listening,
 * and a probe port closed and re-used is a race, so the server listens first (port 0) and the
 * app, built afterwards with PUBLIC_URL set to that origin, is attached to it through Fastify's
 * `routing` (the handler `listen` itself installs): every hook, parser and route runs as in
 * production; only the HTTP edge's server options (timeouts, connection cap) are not applied.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createTestApp, type TestAppOptions, type TestContext } from './app.js';

export function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('Chromium is required for the browser tests: apt-get install -y chromium');
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

async function listenLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface ServedApp {
  readonly ctx: TestContext;
  /** The origin the browser uses, equal to the app's PUBLIC_URL. */
  readonly base: string;
  close(): Promise<void>;
}

/**
 * Builds a test app whose PUBLIC_URL is the loopback origin it is served on; `prepare` may add
 * settings that depend on that origin (a provider's redirect URI).
 */
export async function serveApp(
  options: TestAppOptions = {},
  prepare?: (base: string) => Promise<Record<string, string>>,
  /** `localhost` for WebAuthn, which browsers refuse on a bare IP address. */
  host: '127.0.0.1' | 'localhost' = '127.0.0.1',
): Promise<ServedApp> {
  let ctx: TestContext | undefined;
  const server = createServer((req, res) => {
    if (ctx) ctx.app.routing(req, res);
    else res.writeHead(503).end();
  });
  const base = (await listenLoopback(server)).replace('127.0.0.1', host);
  try {
    const extra = prepare ? await prepare(base) : {};
    ctx = await createTestApp({ ...options, env: { ...options.env, ...extra, PUBLIC_URL: base } });
  } catch (err) {
    await closeServer(server);
    throw err;
  }
  const built = ctx;
  return {
    ctx: built,
    base,
    async close() {
      await closeServer(server);
      await built.close();
    },
  };
}

/** Another origin (another loopback port) serving one fixed HTML document at every path. */
export async function serveOtherOrigin(
  html: string,
): Promise<{ base: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  const base = await listenLoopback(server);
  return { base, close: () => closeServer(server) };
}

const SCREENSHOTS = join(process.cwd(), 'test-artifacts', 'screenshots');

/** Keeps a full-page screenshot (git-ignored; CI uploads the folder as an artifact). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly nodes: number;
}

/**
 * axe-core's serious and critical violations on the page. The script is evaluated through the
 * DevTools protocol: a `<script>` tag with it inline (addScriptTag) is what the page CSP blocks.
 */
export async function seriousAxeViolations(page: Page, axeSource: string): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const all = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })))",
  )) as AxeViolation[];
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/** axe-core's serious and critical violations on the page as it is now (axe loaded here once). */
export function pageViolations(page: Page): Promise<AxeViolation[]> {
  return seriousAxeViolations(page, AXE_SOURCE);
}

/**
 * A page whose script errors and CSP violations land in `problems` (a test asserts it stays
 * empty). A 4xx page and the absent favicon log "Failed to load resource": not a problem.
 */
export async function watchedPage(
  context: BrowserContext,
  problems: string[],
  timeoutMs = 20_000,
): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(timeoutMs);
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${msg.text()}`);
    }
  });
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective));",
  );
  return page;
}
