import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { createMailer } from '../src/platform/mail/mailer.js';

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('config: LINK_BASE_URL, APP_NAME, WEBHOOK_*, SERVICE_TOKENS', () => {
  it('mailed links default to PUBLIC_URL and may carry a path prefix', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://auth.example.com/' }).linkBaseUrl).toBe(
      'https://auth.example.com',
    );
    const config = loadConfig({
      PUBLIC_URL: 'https://auth.example.com',
      LINK_BASE_URL: 'https://app.example.com/account/',
    });
    expect(config.linkBaseUrl).toBe('https://app.example.com/account');
    expect(problems({ LINK_BASE_URL: 'javascript:alert(1)' })).toContain('LINK_BASE_URL');
  });

  it('APP_NAME is one line of plain text, Bastion by default', () => {
    expect(loadConfig({}).appName).toBe('Bastion');
    expect(loadConfig({ APP_NAME: ' Acme Accounts ' }).appName).toBe('Acme Accounts');
    expect(problems({ APP_NAME: 'Acme\r\nBcc: victim@example.com' })).toContain('APP_NAME');
    expect(problems({ APP_NAME: '<script>' })).toContain('APP_NAME');
  });

  it('WEBHOOK_URL and WEBHOOK_SECRET come together', () => {
    expect(problems({ WEBHOOK_URL: 'https://hooks.example.com/bastion' })).toContain(
      'WEBHOOK_SECRET: required together',
    );
    expect(problems({ WEBHOOK_SECRET: 'a-long-enough-secret-value' })).toContain(
      'WEBHOOK_URL: required together',
    );
    const config = loadConfig({
      WEBHOOK_URL: 'https://hooks.example.com/bastion',
      WEBHOOK_SECRET: 'a-long-enough-secret-value',
    });
    expect(config.lifecycleWebhook).toEqual({
      url: 'https://hooks.example.com/bastion',
      secret: 'a-long-enough-secret-value',
    });
    expect(loadConfig({}).lifecycleWebhook).toBeUndefined();
  });

  it('SERVICE_TOKENS is a list of long credentials, never echoed in an error', () => {
    const a = 'svc-a-0123456789abcdef0123456789abcdef';
    const b = 'svc-b-0123456789abcdef0123456789abcdef';
    expect(loadConfig({ SERVICE_TOKENS: `${a}, ${b}` }).serviceTokens).toEqual([a, b]);
    expect(loadConfig({}).serviceTokens).toEqual([]);
    const message = problems({ SERVICE_TOKENS: `${a},SHORTLEAK4242` });
    expect(message).toContain('SERVICE_TOKENS');
    expect(message).not.toContain('SHORTLEAK4242');
  });
});

describe('mailer: APP_NAME signs every mail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-appname-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds the escaped name under the text and the HTML part', async () => {
    const log = { info() {}, warn() {} };
    const mailer = createMailer({
      from: 'x <no-reply@x.test>',
      outboxDir: dir,
      log,
      appName: 'Acme & Co',
    });
    await mailer.send({
      to: 'bob@example.com',
      subject: 'Hello',
      text: 'Body',
      html: '<!doctype html><html><body><p>Body</p></body></html>',
    });
    const [file] = readdirSync(dir);
    const raw = readFileSync(join(dir, file as string), 'utf8');
    expect(raw).toContain('Acme & Co');
    expect(raw).toContain('Acme &amp; Co');
  });
});
