/** The API docs viewer renders in a real Chromium under the strict CSP, with no violation. */
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from './support/app.js';

function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('Chromium is required for the docs page test: apt-get install -y chromium');
  }
}

let ctx: TestContext;
let browser: Browser;
let base: string;
beforeAll(async () => {
  ctx = await createTestApp();
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
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
});
afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

describe('docs page in Chromium', () => {
  it('renders the Bastion API under the CSP without a single violation or script error', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || /Content Security Policy/i.test(msg.text())) {
        problems.push(`console ${msg.type()}: ${msg.text()}`);
      }
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    // Reports violations a console message might word differently.
    await page.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) =>" +
        " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
    );

    const response = await page.goto(`${base}/docs/`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    const csp = String(response?.headers()['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);

    const title = page.locator('.swagger-ui .info .title');
    await title.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await title.textContent()).toContain('Bastion');
    await page.locator('.opblock-summary-path', { hasText: '/health/live' }).first().waitFor();
    await page.waitForTimeout(300); // late violations (lazy styles, images) surface too
    expect(problems).toEqual([]);
    await page.close();
  });
});
