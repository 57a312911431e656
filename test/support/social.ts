/**
 * Real protocol peers for the social login tests (no mocks of the protocol): a real
 * `oidc-provider` whose login and consent are approved by a tiny interaction handler, a
 * hand-made OIDC issuer over node:http that signs what a test tells it to (with `jose`), a
 * loopback server speaking GitHub's documented OAuth endpoints and JSON, and a small browser
 * that keeps cookies per origin and sends the app's own URLs through `app.inject`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import Provider from 'oidc-provider';
import type { App } from '../../src/app.js';

export interface Peer {
  readonly url: string;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export async function listen(handler: Handler): Promise<Peer> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function redirect(res: ServerResponse, to: string) {
  res.writeHead(302, { location: to });
  res.end();
}

export interface PersonClaims {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  /** Authentication methods the ID token reports (RFC 8176), e.g. `['mfa']` (rogue issuer). */
  amr?: string[];
}

export interface Client {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
}

/** A real OpenID Provider; whoever `person` is "logs in" and consents at once. */
export async function startIdp(client: Client) {
  let person: PersonClaims = { sub: 'nobody' };
  const accounts = new Map<string, PersonClaims>();
  let provider: Provider | undefined;
  const peer = await listen(async (req, res) => {
    if (!provider) throw new Error('not ready');
    if (req.url?.startsWith('/interaction/')) {
      const details = await provider.interactionDetails(req, res);
      accounts.set(person.sub, { ...person });
      const grant = new provider.Grant({
        accountId: person.sub,
        clientId: String(details.params.client_id),
      });
      grant.addOIDCScope('openid email profile');
      grant.addOIDCClaims(['email', 'email_verified', 'name']);
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: person.sub }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
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
    findAccount: (_ctx: unknown, sub: string) => {
      const found = accounts.get(sub);
      if (!found) return undefined;
      return { accountId: sub, claims: async () => ({ ...found }) };
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    // Every test flow logs in afresh: no provider session carries one person into the next.
    ttl: { Session: 1 },
  });
  return {
    issuer: peer.url,
    /** The person the next login signs in as. */
    as(claims: PersonClaims) {
      person = claims;
    },
    close: peer.close,
  };
}

export type RogueMode =
  | 'good'
  | 'wrong_iss'
  | 'wrong_aud'
  | 'no_nonce'
  | 'replayed_nonce'
  | 'expired'
  | 'alg_none'
  | 'hs256';

/** A hand-made issuer that signs the ID token `mode` asks for (a real protocol peer). */
export async function startRogueIssuer(client: Client) {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'rogue-1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, string>();
  let firstNonce: string | undefined;
  let mode: RogueMode = 'good';
  let person: PersonClaims = { sub: 'nobody' };
  const peer = await listen(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const base = peer.url;
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer: base,
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        jwks_uri: `${base}/jwks`,
        userinfo_endpoint: `${base}/userinfo`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        // As permissive as a confused issuer can be: the client must still refuse.
        id_token_signing_alg_values_supported: ['RS256', 'HS256', 'none'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        code_challenge_methods_supported: ['S256'],
      });
    }
    if (url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const nonce = url.searchParams.get('nonce') ?? '';
      firstNonce ??= nonce;
      const code = randomBytes(12).toString('hex');
      codes.set(code, nonce);
      const back = new URL(url.searchParams.get('redirect_uri') ?? '');
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      return redirect(res, back.href);
    }
    if (url.pathname === '/userinfo') return json(res, 200, { ...person });
    if (url.pathname === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const nonce = codes.get(form.get('code') ?? '');
      if (nonce === undefined) return json(res, 400, { error: 'invalid_grant' });
      codes.delete(form.get('code') ?? '');
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {
        ...person,
        iss: mode === 'wrong_iss' ? 'http://127.0.0.1:1/evil' : base,
        aud: mode === 'wrong_aud' ? 'another-client' : client.clientId,
        iat: mode === 'expired' ? now - 7200 : now,
        exp: mode === 'expired' ? now - 3600 : now + 300,
      };
      if (mode !== 'no_nonce') claims.nonce = mode === 'replayed_nonce' ? firstNonce : nonce;
      let idToken: string;
      if (mode === 'alg_none') {
        const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        idToken = `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
      } else if (mode === 'hs256') {
        idToken = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256' })
          .sign(new TextEncoder().encode(client.clientSecret));
      } else {
        idToken = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
          .sign(privateKey);
      }
      return json(res, 200, {
        access_token: randomBytes(16).toString('hex'),
        token_type: 'Bearer',
        expires_in: 300,
        id_token: idToken,
      });
    }
    json(res, 404, { error: 'not_found' });
  });
  return {
    issuer: peer.url,
    as(claims: PersonClaims) {
      person = claims;
    },
    misbehave(next: RogueMode) {
      mode = next;
    },
    /** A nonce from an earlier flow is what `replayed_nonce` puts in the token. */
    seenNonce: () => firstNonce !== undefined,
    close: peer.close,
  };
}

export interface GithubPerson {
  id: number;
  login: string;
  name: string | null;
  emails: { email: string; primary: boolean; verified: boolean }[];
}

/** GitHub's OAuth endpoints and the two API calls, as documented (JSON shapes included). */
export async function startGithub(client: Omit<Client, 'redirectUri'>) {
  let person: GithubPerson = { id: 1, login: 'nobody', name: null, emails: [] };
  const codes = new Map<string, GithubPerson>();
  const tokens = new Map<string, GithubPerson>();
  const peer = await listen(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/login/oauth/authorize') {
      if (url.searchParams.get('client_id') !== client.clientId) return json(res, 400, {});
      const code = randomBytes(10).toString('hex');
      codes.set(code, { ...person });
      const back = new URL(url.searchParams.get('redirect_uri') ?? '');
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      return redirect(res, back.href);
    }
    if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
      const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
      const form = new URLSearchParams(await readBody(req));
      const who = codes.get(form.get('code') ?? '');
      if (req.headers.authorization !== basic || !who) {
        // GitHub answers 200 with an error member for a bad code.
        return json(res, 200, { error: 'bad_verification_code' });
      }
      codes.delete(form.get('code') ?? '');
      const token = `gho_${randomBytes(16).toString('hex')}`;
      tokens.set(token, who);
      return json(res, 200, {
        access_token: token,
        token_type: 'bearer',
        scope: 'read:user,user:email',
      });
    }
    const who = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!who) return json(res, 401, { message: 'Requires authentication' });
    if (url.pathname === '/api/user') {
      return json(res, 200, { login: who.login, id: who.id, name: who.name, email: null });
    }
    if (url.pathname === '/api/user/emails') {
      return json(
        res,
        200,
        who.emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })),
      );
    }
    json(res, 404, { message: 'Not Found' });
  });
  return {
    endpoints: {
      authorize: `${peer.url}/login/oauth/authorize`,
      token: `${peer.url}/login/oauth/access_token`,
      api: `${peer.url}/api`,
    },
    as(next: GithubPerson) {
      person = next;
    },
    close: peer.close,
  };
}

export interface Page {
  readonly url: URL;
  readonly status: number;
  readonly location: string | undefined;
  readonly body: string;
  readonly setCookies: string[];
}

/**
 * A browser: one cookie jar per origin (host and port), URLs of `apps` (by origin) answered by
 * `app.inject`, everything else by a real fetch. `route` picks the app for an origin, so a test
 * can send the start to instance A and the callback to instance B.
 */
export class Browser {
  private readonly jars = new Map<string, Map<string, string>>();

  constructor(private readonly route: (url: URL) => App | undefined) {}

  private jar(url: URL) {
    let jar = this.jars.get(url.origin);
    if (!jar) {
      jar = new Map();
      this.jars.set(url.origin, jar);
    }
    return jar;
  }

  cookie(url: string | URL, name: string): string | undefined {
    return this.jar(new URL(url)).get(name);
  }

  setCookie(url: string | URL, name: string, value: string | undefined) {
    const jar = this.jar(new URL(url));
    if (value === undefined) jar.delete(name);
    else jar.set(name, value);
  }

  private store(url: URL, setCookies: string[]) {
    const jar = this.jar(url);
    for (const line of setCookies) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (gone) jar.delete(name);
      else jar.set(name, value);
    }
  }

  async get(target: string | URL): Promise<Page> {
    const url = new URL(target);
    const cookie = [...this.jar(url)].map(([k, v]) => `${k}=${v}`).join('; ');
    const app = this.route(url);
    let page: Page;
    if (app) {
      const res = await app.inject({
        method: 'GET',
        url: `${url.pathname}${url.search}`,
        headers: cookie ? { cookie } : {},
      });
      const set = res.headers['set-cookie'];
      page = {
        url,
        status: res.statusCode,
        location: res.headers.location as string | undefined,
        body: res.body,
        setCookies: [set ?? []].flat(),
      };
    } else {
      const res = await fetch(url, {
        redirect: 'manual',
        headers: cookie ? { cookie } : {},
      });
      page = {
        url,
        status: res.status,
        location: res.headers.get('location') ?? undefined,
        body: await res.text(),
        setCookies: res.headers.getSetCookie(),
      };
    }
    this.store(url, page.setCookies);
    return page;
  }

  /** Follows redirects from `start` until a URL `stop` accepts (not requested), or a non-redirect. */
  async followUntil(start: string | URL, stop: (url: URL) => boolean): Promise<URL> {
    let url = new URL(start);
    for (let i = 0; i < 20; i++) {
      if (stop(url)) return url;
      const page = await this.get(url);
      if (!page.location)
        throw new Error(`stopped at ${url.href}: ${page.status} ${page.body.slice(0, 300)}`);
      url = new URL(page.location, url);
    }
    throw new Error('too many redirects');
  }
}
