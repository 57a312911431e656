/**
 * A real `oidc-provider` with its own login and consent pages (its development interactions: any
 * login name and password sign in as that name), for a browser to click through. Whoever signs
 * in as `name` is `{sub: name, email: name@people.test (verified), name}`.
 */
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { listen, type Peer } from './social.js';

export async function startIdpWithPages(client: {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}): Promise<Peer & { issuer: string }> {
  let provider: Provider | undefined;
  const peer = await listen((req, res) => {
    if (!provider) throw new Error('not ready');
    provider.callback()(req, res);
  });
  provider = new Provider(peer.url, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [client.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, email: `${sub}@people.test`, email_verified: true, name: sub }),
    }),
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(16).toString('hex')] },
  });
  return { ...peer, issuer: peer.url };
}
