import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, type Env, loadConfig } from '../src/config.js';

/** Distinctive values: if any of them shows up in an error message, a value leaked. */
const SECRETS = {
  PORT: 'sk_live_PORTLEAK4242',
  // secretlint-disable-next-line -- a made-up credential: the tests prove it is not echoed
  DATABASE_URL: 'mysql://root:hunter2-DBLEAK4242@db.internal/app',
  REDIS_URL: 'http://:REDISLEAK4242@cache.internal',
  SMTP_URL: 'https://mailer:SMTPLEAK4242@mail.internal',
  KEY_ENCRYPTION_KEY: 'S0VZTEVBSzQyNDItdG9vLXNob3J0', // base64, but not 32 bytes
  METRICS_TOKEN: 'MTLEAK42',
  ALERT_WEBHOOK_SECRET: 'ALERTLEAK4242',
  CORS_ORIGINS: 'javascript:CORSLEAK4242',
  LOG_LEVEL: 'LOGLEAK4242',
  JWT_ALG: 'HS256-ALGLEAK4242',
  CURRENCY: 'CURLEAK4242',
} satisfies Env;

function configError(env: Env): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig accepted the environment');
}

function expectNoValues(message: string, env: Env): void {
  for (const value of Object.values(env)) {
    if (value) expect(message).not.toContain(value);
  }
  expect(message).not.toMatch(/LEAK4242/);
}

describe('config: bad environment values', () => {
  it('rejects each bad variable by name without echoing its value', () => {
    const err = configError(SECRETS);
    for (const name of Object.keys(SECRETS)) {
      if (name === 'ALERT_WEBHOOK_SECRET') continue; // valid alone; flagged as incomplete below
      expect(err.message).toContain(name);
    }
    expectNoValues(err.message, SECRETS);
  });

  it('refuses a Stripe webhook secret under 32 characters (SECURITY-CHECKLIST HOOK-01)', () => {
    const err = configError({ STRIPE_WEBHOOK_SECRET: 'whsec_LEAK4242short' });
    expect(err.message).toContain('STRIPE_WEBHOOK_SECRET');
    expect(err.message).not.toContain('LEAK4242');
    expect(
      loadConfig({ STRIPE_WEBHOOK_SECRET: `whsec_${'a'.repeat(32)}` }).stripeWebhookSecret,
    ).toBe(`whsec_${'a'.repeat(32)}`);
  });

  it('names a TLS file that cannot be read, without the path', () => {
    const env = { TLS_CERT: '/nonexistent/CERTLEAK4242.pem', TLS_KEY: '/nonexistent/KEYLEAK4242' };
    const err = configError(env);
    expect(err.message).toContain('TLS_CERT');
    expect(err.message).toContain('TLS_KEY');
    expectNoValues(err.message, env);
  });

  it('refuses half a pair: a webhook secret without its URL, a cert without its key', () => {
    const env = { ALERT_WEBHOOK_SECRET: 'ALERTLEAK4242-long-enough', TLS_CERT: '/etc/hostname' };
    const err = configError(env);
    expect(err.message).toContain('ALERT_WEBHOOK_URL');
    expect(err.message).toContain('TLS_KEY');
    expectNoValues(err.message, env);
  });

  it('refuses an incomplete OAuth provider, naming the missing settings', () => {
    const env = { OAUTH_ACME_CLIENT_SECRET: 'OAUTHLEAK4242' };
    const err = configError(env);
    expect(err.message).toContain('OAUTH_ACME_ISSUER');
    expect(err.message).toContain('OAUTH_ACME_CLIENT_ID');
    expectNoValues(err.message, env);
  });

  it('treats empty strings as unset and returns a frozen config', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', NODE_ENV: 'test' });
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.jwt)).toBe(true);
  });
});

describe('config: CORS origins', () => {
  it('keeps each origin as browsers send it: a trailing slash or a path is dropped', () => {
    const config = loadConfig({
      CORS_ORIGINS: 'https://app.example.com/,http://127.0.0.1:5173/spa/',
    });
    // The Origin header never has a slash; a kept one would fail the refresh origin check.
    expect(config.corsOrigins).toEqual(['https://app.example.com', 'http://127.0.0.1:5173']);
  });
});

describe('config: production is strict', () => {
  const PRODUCTION_OK: Env = {
    NODE_ENV: 'production',
    PUBLIC_URL: 'https://bastion.example',
    TRUST_PROXY: '127.0.0.1',
    KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    SMTP_URL: 'smtp://127.0.0.1:2525',
  };

  it('starts with HTTPS (via a trusted proxy), a key-encryption key and real SMTP', () => {
    expect(loadConfig(PRODUCTION_OK).nodeEnv).toBe('production');
  });

  it('names every missing requirement at once', () => {
    const err = configError({ NODE_ENV: 'production' });
    for (const name of [
      'TLS_CERT',
      'TRUST_PROXY',
      'KEY_ENCRYPTION_KEY',
      'SMTP_URL',
      'PUBLIC_URL',
    ]) {
      expect(err.message).toContain(name);
    }
  });

  it.each(['TRUST_PROXY', 'KEY_ENCRYPTION_KEY', 'SMTP_URL', 'PUBLIC_URL'])(
    'refuses to start without %s',
    (name) => {
      const env = { ...PRODUCTION_OK, [name]: undefined };
      expect(configError(env).message).toContain(name);
    },
  );

  it('names the missing requirements even when another variable is invalid', () => {
    const env = { NODE_ENV: 'production', KEY_ENCRYPTION_KEY: SECRETS.KEY_ENCRYPTION_KEY };
    const err = configError(env);
    for (const name of ['TRUST_PROXY', 'KEY_ENCRYPTION_KEY', 'SMTP_URL', 'PUBLIC_URL']) {
      expect(err.message).toContain(name);
    }
    expectNoValues(err.message, { KEY_ENCRYPTION_KEY: SECRETS.KEY_ENCRYPTION_KEY });
  });

  it('refuses the insecure-cookie development switch', () => {
    const err = configError({ ...PRODUCTION_OK, DEV_INSECURE_COOKIES: 'true' });
    expect(err.message).toContain('DEV_INSECURE_COOKIES');
  });
});

describe('config: a real production process without its requirements', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-config-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('exits non-zero, naming the variables and printing no value', () => {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      PORT: '0',
      KEY_ENCRYPTION_KEY: SECRETS.KEY_ENCRYPTION_KEY,
      SMTP_URL: SECRETS.SMTP_URL,
    };
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: join(import.meta.dirname, '..'),
      env,
      encoding: 'utf8',
      timeout: 60_000, // generous: a loaded CI machine starts tsx slowly
    });
    expect(run.status).not.toBe(0);
    expect(run.status).not.toBeNull(); // exited by itself, not killed by the timeout
    const output = run.stderr + run.stdout;
    for (const name of ['TRUST_PROXY', 'KEY_ENCRYPTION_KEY', 'SMTP_URL', 'PUBLIC_URL']) {
      expect(output).toContain(name);
    }
    expectNoValues(output, { a: SECRETS.KEY_ENCRYPTION_KEY, b: SECRETS.SMTP_URL });
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
  }, 90_000);
});
