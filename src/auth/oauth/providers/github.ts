/**
 * GitHub (OAuth 2, not OIDC) through `arctic`'s OAuth 2 client: authorization code + PKCE S256
 * and state; the person is GitHub's numeric user id (never the login, which can be renamed), and
 * the email is the primary one from `/user/emails` with its `verified` flag.
 */
import type { CodeChallengeMethod, OAuth2Client } from 'arctic';
import { z } from 'zod';
import {
  type FlowSecrets,
  type ProviderProfile,
  type SocialProvider,
  withTimeout,
} from './provider.js';

/** GitHub's endpoints; tests point them at a loopback server (AppDeps), production never does. */
export interface GithubEndpoints {
  readonly authorize: string;
  readonly token: string;
  readonly api: string;
}

export const GITHUB_ENDPOINTS: GithubEndpoints = {
  authorize: 'https://github.com/login/oauth/authorize',
  token: 'https://github.com/login/oauth/access_token',
  api: 'https://api.github.com',
};

/** The identity key of a GitHub account: its issuer is GitHub, whatever endpoints are used. */
export const GITHUB_ISSUER = 'https://github.com';

const GithubUser = z.object({
  id: z.number().int().positive(),
  name: z.string().nullable().optional(),
});
const GithubEmails = z.array(
  z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }),
);

export interface GithubProviderOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  readonly endpoints: GithubEndpoints;
  readonly timeoutMs?: number;
}

export class GithubProvider implements SocialProvider {
  readonly name = 'github';
  // GitHub sends no ID token: its login is never a second factor here.
  readonly mfaAmr: readonly string[] = [];
  private client: Promise<{ client: OAuth2Client; s256: CodeChallengeMethod }> | undefined;

  constructor(private readonly options: GithubProviderOptions) {}

  /** arctic is imported on the first sign-in, not at start-up (issue 17). */
  private oauth2() {
    const { clientId, clientSecret, redirectUri } = this.options;
    this.client ??= import('arctic').then((arctic) => ({
      client: new arctic.OAuth2Client(clientId, clientSecret, redirectUri),
      s256: arctic.CodeChallengeMethod.S256,
    }));
    return this.client;
  }

  async authorizationUrl(flow: FlowSecrets): Promise<URL> {
    const { client, s256 } = await this.oauth2();
    return client.createAuthorizationURLWithPKCE(
      this.options.endpoints.authorize,
      flow.state,
      s256,
      flow.verifier,
      ['read:user', 'user:email'],
    );
  }

  private async api<T>(path: string, accessToken: string, schema: z.ZodType<T>): Promise<T> {
    const res = await fetch(`${this.options.endpoints.api}${path}`, {
      headers: {
        Authorization: `Bearer ${accessToken}`,
        Accept: 'application/vnd.github+json',
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': 'bastion',
      },
      redirect: 'error',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`GitHub ${path}: ${res.status}`);
    return schema.parse(await res.json());
  }

  private get timeoutMs() {
    return this.options.timeoutMs ?? 5000;
  }

  async exchange(callbackUrl: URL, flow: FlowSecrets): Promise<ProviderProfile> {
    const code = callbackUrl.searchParams.get('code');
    if (!code) throw new Error('no code');
    const { client } = await this.oauth2();
    const tokens = await withTimeout(
      client.validateAuthorizationCode(this.options.endpoints.token, code, flow.verifier),
      this.timeoutMs,
      'GitHub token',
    );
    const accessToken = tokens.accessToken();
    const user = await this.api('/user', accessToken, GithubUser);
    const emails = await this.api('/user/emails', accessToken, GithubEmails);
    const primary = emails.find((e) => e.primary);
    return {
      issuer: GITHUB_ISSUER,
      subject: String(user.id),
      email: primary?.email ?? null,
      emailVerified: primary?.verified === true,
      name: user.name ?? null,
      amr: [],
    };
  }
}
