/**
 * Any OpenID Connect provider, by issuer, through `openid-client`: discovery (cached, retried
 * lazily after a failure), authorization code + PKCE S256, state and nonce, and a fully
 * validated ID token, its signature included although it comes from the token endpoint.
 */
import type * as oidc from 'openid-client';
import type { Clock } from '../../../platform/clock.js';
import {
  type FlowSecrets,
  isLoopbackHost,
  type ProviderProfile,
  type SocialProvider,
  withTimeout,
} from './provider.js';

export interface OidcProviderOptions {
  readonly name: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  /** `amr` values accepted as a second factor (OAUTH_<NAME>_MFA_AMR). */
  readonly mfaAmr?: readonly string[];
  /** Plain-HTTP issuers are accepted outside production, or on a loopback address. */
  readonly production: boolean;
  readonly clock: Clock;
  /** Seconds for discovery, token and userinfo calls. */
  readonly timeoutSeconds?: number;
  /** After a failed discovery, calls fail fast for this long before the next attempt. */
  readonly retryAfterMs?: number;
}

const SCOPE = 'openid email profile';

/** openid-client (with oauth4webapi and jose) is imported on the first sign-in, not at start-up (issue 17). */
let loaded: Promise<typeof oidc> | undefined;
const openidClient = () => (loaded ??= import('openid-client'));

export class OidcProvider implements SocialProvider {
  readonly name: string;
  readonly mfaAmr: readonly string[];
  private config: Promise<oidc.Configuration> | undefined;
  private failedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: OidcProviderOptions) {
    this.name = options.name;
    this.mfaAmr = options.mfaAmr ?? [];
    const url = new URL(options.issuer);
    if (url.protocol === 'http:' && options.production && !isLoopbackHost(url.hostname)) {
      throw new TypeError(
        `OAUTH_${options.name.toUpperCase()}_ISSUER: must be https in production`,
      );
    }
  }

  private execute(lib: typeof oidc): ((c: oidc.Configuration) => void)[] {
    // The ID token's signature is checked against the issuer's JWKS even from the token endpoint.
    const steps = [lib.enableNonRepudiationChecks];
    if (new URL(this.options.issuer).protocol === 'http:') steps.push(lib.allowInsecureRequests);
    return steps;
  }

  /** The discovered configuration; a failure is remembered briefly, then retried on demand. */
  private configuration(): Promise<oidc.Configuration> {
    const now = this.options.clock.now();
    if (!this.config && now - this.failedAt < (this.options.retryAfterMs ?? 30_000)) {
      return Promise.reject(new Error('discovery failed recently'));
    }
    this.config ??= this.discover().catch((err: unknown) => {
      this.config = undefined;
      this.failedAt = this.options.clock.now();
      throw err;
    });
    return this.config;
  }

  private async discover(): Promise<oidc.Configuration> {
    const o = this.options;
    const timeout = o.timeoutSeconds ?? 5;
    const metadata = { client_secret: o.clientSecret };
    const lib = await openidClient();
    const execute = this.execute(lib);
    const found = await withTimeout(
      lib.discovery(new URL(o.issuer), o.clientId, metadata, lib.ClientSecretBasic(), {
        execute,
        timeout,
      }),
      timeout * 1000 + 500,
      'discovery',
    );
    const server = found.serverMetadata();
    const methods = server.token_endpoint_auth_methods_supported;
    if (
      !methods ||
      methods.includes('client_secret_basic') ||
      !methods.includes('client_secret_post')
    ) {
      return found;
    }
    // The issuer offers only client_secret_post.
    const config = new lib.Configuration(
      server,
      o.clientId,
      metadata,
      lib.ClientSecretPost(o.clientSecret),
    );
    config.timeout = timeout;
    for (const step of execute) step(config);
    return config;
  }

  async authorizationUrl(flow: FlowSecrets): Promise<URL> {
    const config = await this.configuration();
    const lib = await openidClient();
    return lib.buildAuthorizationUrl(config, {
      redirect_uri: this.options.redirectUri,
      scope: SCOPE,
      response_type: 'code',
      code_challenge: await lib.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
  }

  async exchange(callbackUrl: URL, flow: FlowSecrets): Promise<ProviderProfile> {
    const config = await this.configuration();
    const lib = await openidClient();
    const tokens = await lib.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new Error('no ID token');
    let email = typeof claims.email === 'string' ? claims.email : null;
    let verified = claims.email_verified === true;
    let name = typeof claims.name === 'string' ? claims.name : null;
    if (email === null) {
      // Some providers put the email only in userinfo; its `sub` must be the ID token's.
      const info = await lib.fetchUserInfo(config, tokens.access_token, claims.sub);
      email = typeof info.email === 'string' ? info.email : null;
      verified = info.email_verified === true;
      name ??= typeof info.name === 'string' ? info.name : null;
    }
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((v) => typeof v === 'string') : [];
    return { issuer: claims.iss, subject: claims.sub, email, emailVerified: verified, name, amr };
  }
}
