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
import { afterAll, beforeAll, expect } from 'vitest';
import { accountTestEnv, BUILD_TIMEOUT_MS, waitForAccountMail } from './accounts.js';
import { createTestApp, type TestAppOptions, type TestContext } from './app.js';
import { STRONG_PASSWORD } from './auth.js';
import { extractLink, startTestSmtp, type TestSmtp } from './smtp.js';

export function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('Chromium is required for the browser tests: apt-get install -y chromium');
  }
}

export interface LaunchOptions {
  /** Added after the usual flags (e.g. `--host-resolver-rules=…`). */
  readonly args?: readonly string[];
}

export function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
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
      ...(options.args ?? []),
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

/** A page whose problems are checked: how, and what counts as one. */
export interface WatchOptions {
  /** The page's default timeout for actions and waits; unset, Playwright's own (30 s). */
  readonly timeoutMs?: number;
  /** CSP violations are problems (an init script logs each as a console error). Default: on. */
  readonly cspViolations?: boolean;
  /** Every `alert`/`confirm`/`prompt` is a problem (a script that ran where none should). */
  readonly dialogs?: boolean;
}

/**
 * A page whose script errors and CSP violations land in `problems` (a test asserts it stays
 * empty). A 4xx page and the absent favicon log "Failed to load resource": not a problem.
 */
export async function watchedPage(
  context: BrowserContext,
  problems: string[],
  options: WatchOptions = {},
): Promise<Page> {
  const page = await context.newPage();
  if (options.timeoutMs !== undefined) page.setDefaultTimeout(options.timeoutMs);
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  if (options.dialogs) page.on('dialog', (d) => problems.push(`dialog: ${d.message()}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${msg.text()}`);
    }
  });
  if (options.cspViolations ?? true) {
    await page.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective));",
    );
  }
  return page;
}

/** A full-page screenshot named `name`, then no serious or critical axe-core violation. */
export async function checkPage(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  expect(await pageViolations(page), `axe on ${name}`).toEqual([]);
}

export interface MailedBrowser {
  readonly smtp: TestSmtp;
  readonly served: ServedApp;
  /** The origin the browser uses (`served.base`). */
  readonly base: string;
  readonly browser: Browser;
}

function ready<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`${name} is there once the file's beforeAll has run`);
  return value;
}

/**
 * The hosted-page tests' setup, as this file's beforeAll/afterAll: a test SMTP server, an app
 * that mails to it (accountTestEnv) served over loopback, and Chromium. Read the fields inside
 * tests and hooks (they are set by beforeAll).
 */
export function mailedBrowser(
  options: {
    readonly deps?: TestAppOptions['deps'];
    /** `localhost` for WebAuthn (see serveApp). */
    readonly host?: '127.0.0.1' | 'localhost';
  } = {},
): MailedBrowser {
  let smtp: TestSmtp | undefined;
  let served: ServedApp | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    smtp = await startTestSmtp();
    served = await serveApp(
      { env: accountTestEnv(smtp), deps: options.deps },
      undefined,
      options.host,
    );
    browser = await launchChromium();
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await smtp?.close();
  });
  return {
    get smtp() {
      return ready(smtp, 'smtp');
    },
    get served() {
      return ready(served, 'served');
    },
    get base() {
      return ready(served, 'served').base;
    },
    get browser() {
      return ready(browser, 'browser');
    },
  };
}

/**
 * Signs up on the pages as a person would: /register with STRONG_PASSWORD, "Check your mail", the
 * mailed link, the password again, "Address verified". The page is left there, signed out.
 */
export async function signUpOnPages(
  page: Page,
  at: MailedBrowser,
  email: string,
  displayName: string,
): Promise<void> {
  await page.goto(`${at.base}/register`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Password').fill(STRONG_PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect.poll(() => page.locator('h1').textContent()).toBe('Check your mail');
  const mail = await waitForAccountMail(at.smtp, email, 'verification');
  await page.goto(extractLink(mail, '/verify-email').href);
  await page.getByLabel('Password').fill(STRONG_PASSWORD);
  await page.getByRole('button', { name: 'Verify my address' }).click();
  await expect.poll(() => page.locator('h1').textContent()).toBe('Address verified');
}
