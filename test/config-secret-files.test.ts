/**
 * Secrets from files (Docker/Kubernetes secrets): every secret setting also accepts `<NAME>_FILE`.
 * Both set is refused naming the variable; one trailing newline is trimmed; an unreadable file is
 * refused naming the variable, never its path's contents.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, type Env, loadConfig, SECRET_SETTINGS } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-secret-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function secretFile(contents: string): string {
  n += 1;
  const path = join(dir, `secret-${n}`);
  writeFileSync(path, contents, { mode: 0o600 });
  return path;
}

function configError(env: Env): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig accepted the environment');
}

const KEY = Buffer.alloc(32, 7).toString('base64');
const LONG = 'whsec_0123456789abcdef0123456789abcdef';

describe('config: <NAME>_FILE for secret settings', () => {
  it('covers every secret setting config reads', () => {
    expect([...SECRET_SETTINGS].sort()).toEqual(
      [
        'ALERT_WEBHOOK_SECRET',
        'DATABASE_URL',
        'KEY_ENCRYPTION_KEY',
        'METRICS_TOKEN',
        'MIGRATION_DATABASE_URL',
        'REDIS_URL',
        'SERVICE_TOKENS',
        'SMTP_URL',
        'STRIPE_WEBHOOK_SECRET',
        'WEBHOOK_SECRET',
      ].sort(),
    );
  });

  it('reads each secret from its file, trimming one trailing newline', () => {
    const config = loadConfig({
      DATABASE_URL_FILE: secretFile('postgres://app:pw@db:5432/bastion\n'),
      REDIS_URL_FILE: secretFile('redis://:pw@cache:6379\n'),
      SMTP_URL_FILE: secretFile('smtp://user:pw@mail:587\r\n'),
      KEY_ENCRYPTION_KEY_FILE: secretFile(`${KEY}\n`),
      STRIPE_WEBHOOK_SECRET_FILE: secretFile(`${LONG}\n`),
      ALERT_WEBHOOK_URL: 'https://alerts.example/hook',
      ALERT_WEBHOOK_SECRET_FILE: secretFile('alert-secret-0123456789'),
      METRICS_TOKEN_FILE: secretFile('metrics-token-0123456789\n'),
      OAUTH_ACME_ISSUER: 'https://id.acme.example',
      OAUTH_ACME_CLIENT_ID: 'bastion',
      OAUTH_ACME_CLIENT_SECRET_FILE: secretFile('oauth-client-secret\n'),
    });
    expect(config.databaseUrl).toBe('postgres://app:pw@db:5432/bastion');
    expect(config.redisUrl).toBe('redis://:pw@cache:6379');
    expect(config.smtpUrl).toBe('smtp://user:pw@mail:587');
    expect(config.keyEncryptionKey?.equals(Buffer.alloc(32, 7))).toBe(true);
    expect(config.stripeWebhookSecret).toBe(LONG);
    expect(config.alertWebhook?.secret).toBe('alert-secret-0123456789');
    expect(config.metricsToken).toBe('metrics-token-0123456789');
    expect(config.oauthProviders[0]?.clientSecret).toBe('oauth-client-secret');
  });

  it('trims only one trailing newline, and nothing else', () => {
    const config = loadConfig({ METRICS_TOKEN_FILE: secretFile('  metrics-token-0123456789\n\n') });
    expect(config.metricsToken).toBe('  metrics-token-0123456789\n');
  });

  it('satisfies production requirements from files', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://auth.example',
      TRUST_PROXY: '10.0.0.0/8',
      KEY_ENCRYPTION_KEY_FILE: secretFile(`${KEY}\n`),
      SMTP_URL_FILE: secretFile('smtp://mail:587\n'),
    });
    expect(config.smtpUrl).toBe('smtp://mail:587');
  });

  it.each(SECRET_SETTINGS)('refuses %s and %s_FILE both set, naming it', (name) => {
    const err = configError({
      [name]: 'VALUELEAK4242',
      [`${name}_FILE`]: secretFile('FILELEAK4242'),
    });
    expect(err.problems).toContain(`${name}: set either ${name} or ${name}_FILE, not both`);
    expect(err.message).not.toMatch(/LEAK4242/);
  });

  it('refuses an OAuth client secret given both ways', () => {
    const err = configError({
      OAUTH_ACME_ISSUER: 'https://id.acme.example',
      OAUTH_ACME_CLIENT_ID: 'bastion',
      OAUTH_ACME_CLIENT_SECRET: 'VALUELEAK4242',
      OAUTH_ACME_CLIENT_SECRET_FILE: secretFile('FILELEAK4242'),
    });
    expect(err.message).toContain('OAUTH_ACME_CLIENT_SECRET: set either');
    expect(err.message).not.toMatch(/LEAK4242/);
  });

  it('refuses a missing file, naming the variable and not the path', () => {
    const path = join(dir, 'no-such-PATHLEAK4242');
    const err = configError({ DATABASE_URL_FILE: path });
    expect(err.problems).toEqual(['DATABASE_URL_FILE: file cannot be read']);
    expect(err.message).not.toContain(path);
  });

  it('refuses an unreadable file without showing what is in it', () => {
    if (process.getuid?.() === 0) {
      // root reads any file: a directory is unreadable as a file for everyone.
      const err = configError({ SMTP_URL_FILE: dir });
      expect(err.problems).toEqual(['SMTP_URL_FILE: file cannot be read']);
      return;
    }
    const path = secretFile('smtp://user:CONTENTLEAK4242@mail:587');
    chmodSync(path, 0o000);
    const err = configError({ SMTP_URL_FILE: path });
    expect(err.problems).toEqual(['SMTP_URL_FILE: file cannot be read']);
    expect(err.message).not.toMatch(/LEAK4242/);
  });

  it('reports an invalid value read from a file without echoing it', () => {
    const err = configError({
      // secretlint-disable-next-line -- a made-up credential: the test proves it is not echoed
      DATABASE_URL_FILE: secretFile('mysql://root:CONTENTLEAK4242@db/app\n'),
    });
    expect(err.problems).toEqual(['DATABASE_URL: must be a postgres:// URL']);
    expect(err.message).not.toMatch(/LEAK4242/);
  });

  it('does not report an unreadable production secret a second time as missing', () => {
    const err = configError({
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://auth.example',
      TRUST_PROXY: '10.0.0.0/8',
      KEY_ENCRYPTION_KEY_FILE: join(dir, 'missing'),
      SMTP_URL: 'smtp://mail:587',
    });
    expect(err.problems).toEqual(['KEY_ENCRYPTION_KEY_FILE: file cannot be read']);
  });

  it('leaves other *_FILE settings alone (PASSWORD_BLOCKLIST_FILE is a path)', () => {
    const path = secretFile('password\n');
    const config = loadConfig({ PASSWORD_BLOCKLIST_FILE: path });
    expect(config.password.blocklistFile).toBe(path);
  });
});
