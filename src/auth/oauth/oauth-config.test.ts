/** Social login settings (issue 16): GitHub takes two, OIDC three; half a provider is an error. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';

const problemsOf = (env: Record<string, string>): string => {
  try {
    loadConfig({ NODE_ENV: 'test', ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return '';
};

describe('social login settings', () => {
  it('GitHub needs its client id and secret only', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      OAUTH_GITHUB_CLIENT_ID: 'id',
      OAUTH_GITHUB_CLIENT_SECRET: 'secret',
    });
    expect(config.oauthProviders).toEqual([
      { name: 'github', issuer: undefined, clientId: 'id', clientSecret: 'secret', mfaAmr: [] },
    ]);
  });

  it('a half-configured provider names what is missing', () => {
    expect(problemsOf({ OAUTH_GITHUB_CLIENT_ID: 'id' })).toContain('OAUTH_GITHUB_CLIENT_SECRET');
    const acme = problemsOf({ OAUTH_ACME_ISSUER: 'https://id.acme.example' });
    expect(acme).toContain('OAUTH_ACME_CLIENT_ID');
    expect(acme).toContain('OAUTH_ACME_CLIENT_SECRET');
  });

  it('a plain-HTTP issuer is refused in production unless it is on loopback', () => {
    const env = {
      NODE_ENV: 'production',
      OAUTH_ACME_CLIENT_ID: 'id',
      OAUTH_ACME_CLIENT_SECRET: 's',
    };
    expect(problemsOf({ ...env, OAUTH_ACME_ISSUER: 'http://id.acme.example' })).toContain(
      'OAUTH_ACME_ISSUER: must be https in production',
    );
    expect(problemsOf({ ...env, OAUTH_ACME_ISSUER: 'http://127.0.0.1:8080' })).not.toContain(
      'OAUTH_ACME_ISSUER',
    );
  });
});
