/** Builds the configured social login providers, by slug. */
import type { Config } from '../../../config.js';
import type { Clock } from '../../../platform/clock.js';
import { callbackUrl } from '../oauth.routes.js';
import { GITHUB_ENDPOINTS, type GithubEndpoints, GithubProvider } from './github.js';
import { OidcProvider } from './oidc.js';
import type { SocialProvider } from './provider.js';

export function createSocialProviders(
  config: Config,
  clock: Clock,
  githubEndpoints: GithubEndpoints | undefined,
): ReadonlyMap<string, SocialProvider> {
  const providers = new Map<string, SocialProvider>();
  for (const p of config.oauthProviders) {
    const redirectUri = callbackUrl(config.publicUrl, p.name);
    if (p.issuer === undefined) {
      providers.set(
        p.name,
        new GithubProvider({
          clientId: p.clientId,
          clientSecret: p.clientSecret,
          redirectUri,
          endpoints: githubEndpoints ?? GITHUB_ENDPOINTS,
        }),
      );
      continue;
    }
    providers.set(
      p.name,
      new OidcProvider({
        name: p.name,
        issuer: p.issuer,
        clientId: p.clientId,
        clientSecret: p.clientSecret,
        redirectUri,
        mfaAmr: p.mfaAmr,
        production: config.nodeEnv === 'production',
        clock,
      }),
    );
  }
  return providers;
}
