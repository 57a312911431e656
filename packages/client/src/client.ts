/**
 * `createBastionClient`: a typed client for Bastion's API (openapi-fetch over the types that
 * openapi-typescript generated from the server's /openapi.json) that holds a session.
 *
 * - The access token lives in memory only. The session's CSRF token (bound to the session, and
 *   useless without the HttpOnly refresh cookie) comes from the login answer and is kept in
 *   `storage` when one is given, or read back from the readable CSRF cookie when the page shares
 *   the API's host; that is how a reloaded page refreshes without signing in again.
 * - Every call through `api` carries the bearer token. A token that is about to expire is
 *   refreshed first; a 401 is answered by one refresh and one retry. Refreshes are single-flight:
 *   any number of concurrent calls share one `POST /auth/refresh`, and browser tabs take turns
 *   through a Web Lock and hand each other the new token over a BroadcastChannel.
 * - Errors are `BastionError`s carrying the problem+json `code`.
 */
import createClient, { type Client } from 'openapi-fetch';
import { crossTab, type TabMessage } from './cross-tab.js';
import { BastionError, errorOf } from './errors.js';
import type { components, operations, paths } from './schema.js';

type Json<Op> = Op extends { requestBody?: { content: { 'application/json': infer B } } }
  ? B
  : never;

export type LoginResponse = components['schemas']['LoginResponse'];
export type TokenResponse = components['schemas']['TokenResponse'];
export type User = LoginResponse['user'];
export type LoginCredentials = Json<operations['postAuthLogin']>;
/** Options for `navigator.credentials.get`, as JSON (base64url strings). */
export type PasskeyRequestOptions =
  operations['postAuthPasskeysLoginOptions']['responses'][200]['content']['application/json'];
/** Options for `navigator.credentials.create`, as JSON. */
export type PasskeyCreationOptions =
  operations['postAuthPasskeysRegisterOptions']['responses'][200]['content']['application/json'];
/** What `PublicKeyCredential.toJSON()` gives for a sign-in (AuthenticationResponseJSON). */
export type PasskeyAssertion = Json<operations['postAuthPasskeysLoginVerify']>['response'];
/** What `PublicKeyCredential.toJSON()` gives for a registration (RegistrationResponseJSON). */
export type PasskeyAttestation = Json<operations['postAuthPasskeysRegisterVerify']>['response'];
export type Passkey =
  operations['postAuthPasskeysRegisterVerify']['responses'][201]['content']['application/json'];

/** Answers sign-in options with the authenticator's assertion (e.g. `navigator.credentials.get`). */
export type PasskeyGetter = (options: PasskeyRequestOptions) => Promise<PasskeyAssertion>;
/** Answers creation options with a new credential (e.g. `navigator.credentials.create`). */
export type PasskeyCreator = (options: PasskeyCreationOptions) => Promise<PasskeyAttestation>;

/** A signed-in login. */
export interface SignedIn {
  readonly status: 'signed_in';
  readonly user: User;
  /** Set when a recovery code was used for the second factor. */
  readonly recoveryCodesRemaining?: number;
}

/** The password was right and the account has MFA on: call `loginMfa(code)`. */
export interface MfaRequired {
  readonly status: 'mfa_required';
  /** Bound to the challenge cookie the same answer set (kept by the browser or the cookie jar). */
  readonly mfaToken: string;
}

export type LoginResult = SignedIn | MfaRequired;

export type SessionEvent = 'signed_in' | 'refreshed' | 'signed_out';

/** The part of the Web Storage interface the client uses (localStorage, sessionStorage, ...). */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface BastionClientOptions {
  /** Bastion's origin (its PUBLIC_URL), e.g. `https://auth.example.com`. */
  readonly baseUrl: string;
  /**
   * The fetch to send requests with. Browsers: the default. Node and other non-browser clients:
   * one that keeps cookies, e.g. `cookieJarFetch()` from `@bastion/client/node`.
   */
  readonly fetch?: (request: Request) => Promise<Response>;
  /**
   * Where the session's CSRF token survives a reload (e.g. `localStorage`). Needed when the page
   * is not on the API's host (an SPA on a sibling subdomain cannot read the `__Host-` cookie).
   */
  readonly storage?: TokenStorage;
  /** Coordinate refreshes across tabs (Web Locks, BroadcastChannel). Default: in browsers. */
  readonly crossTab?: boolean;
  /** Refresh this long before the access token expires (default 30 s, at most a quarter of its life). */
  readonly refreshLeewayMs?: number;
  /** The client's clock (tests). */
  readonly now?: () => number;
}

export interface BastionClient {
  /**
   * The typed API: `api.GET('/auth/me')`, `api.POST('/orders', { body, params })`. Calls carry
   * the access token and refresh it when needed. Results are openapi-fetch's
   * `{ data, error, response }`; `unwrap(result)` gives the data or throws a `BastionError`.
   */
  readonly api: Client<paths>;
  /** Signs in with a password; `mfa_required` when the account has a second factor. */
  login(credentials: LoginCredentials): Promise<LoginResult>;
  /** Completes the login that answered `mfa_required`, with a TOTP or recovery code. */
  loginMfa(code: string, mfaToken?: string): Promise<SignedIn>;
  /**
   * Signs in with a passkey. `get` answers the server's options: by default the browser's own
   * `navigator.credentials.get`; pass `startAuthentication` from @simplewebauthn/browser for
   * browsers without `PublicKeyCredential.parseRequestOptionsFromJSON`, or a software
   * authenticator in tests.
   */
  signInWithPasskey(get?: PasskeyGetter): Promise<SignedIn>;
  /** Adds a passkey to the signed-in account (`create` defaults to the browser's). */
  registerPasskey(create?: PasskeyCreator, name?: string): Promise<Passkey>;
  /** Refreshes now (single-flight). Throws when the session is over. */
  refresh(): Promise<void>;
  /** After a reload: true when the refresh cookie still holds a session (refreshes once). */
  restore(): Promise<boolean>;
  /** A valid access token (refreshed when needed), or undefined when signed out. */
  accessToken(): Promise<string | undefined>;
  /** Ends this session on the server, then forgets it here and in the other tabs. */
  logout(): Promise<void>;
  /** Ends every session of the account (needs a valid access token). */
  logoutEverywhere(): Promise<void>;
  readonly signedIn: boolean;
  /** Called on sign-in, refresh (also another tab's) and sign-out; returns an unsubscribe. */
  onChange(listener: (event: SessionEvent) => void): () => void;
  /** Closes the cross-tab channel. */
  close(): void;
}

const STORAGE_KEY = 'bastion.csrf';
const CSRF_COOKIES = ['__Host-bastion_csrf', 'bastion_csrf'];
/** How long a tab that waited for another tab's refresh waits for its token to arrive. */
const HANDOVER_WAIT_MS = 2000;

type Globals = {
  document?: { cookie?: string };
  navigator?: {
    credentials?: { get(o: unknown): Promise<unknown>; create(o: unknown): Promise<unknown> };
  };
  PublicKeyCredential?: {
    parseRequestOptionsFromJSON?: (o: unknown) => unknown;
    parseCreationOptionsFromJSON?: (o: unknown) => unknown;
  };
};

function cookieCsrf(): string | undefined {
  const cookie = (globalThis as unknown as Globals).document?.cookie;
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).trim();
    if (CSRF_COOKIES.includes(name)) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** The browser's WebAuthn, fed and read as JSON. */
async function browserCredential(kind: 'get' | 'create', options: unknown): Promise<never> {
  const g = globalThis as unknown as Globals;
  const parse =
    kind === 'get'
      ? g.PublicKeyCredential?.parseRequestOptionsFromJSON
      : g.PublicKeyCredential?.parseCreationOptionsFromJSON;
  const credentials = g.navigator?.credentials;
  if (!parse || !credentials) {
    throw new Error(
      'No WebAuthn JSON support here: pass a function, e.g. startAuthentication / ' +
        'startRegistration from @simplewebauthn/browser',
    );
  }
  const credential = (await credentials[kind]({ publicKey: parse(options) })) as {
    toJSON(): never;
  } | null;
  if (!credential) throw new Error('The authenticator returned no credential');
  return credential.toJSON();
}

export function createBastionClient(options: BastionClientOptions): BastionClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const now = options.now ?? Date.now;
  const storage = options.storage;
  const coordinate = options.crossTab ?? (globalThis as unknown as Globals).document !== undefined;

  let accessToken: string | undefined;
  let expiresAt = 0;
  let leewayMs = 0;
  let csrfToken: string | undefined = storage?.getItem(STORAGE_KEY) ?? undefined;
  let pendingMfa: string | undefined;
  /** Moves on every new token (own or another tab's). */
  let generation = 0;
  let inflight: Promise<void> | undefined;
  const listeners = new Set<(event: SessionEvent) => void>();
  const waiters = new Set<() => void>();

  const emit = (event: SessionEvent) => {
    for (const listener of listeners) listener(event);
  };

  const fresh = () => accessToken !== undefined && now() < expiresAt - leewayMs;
  const currentCsrf = () => csrfToken ?? cookieCsrf();

  function setTokens(token: string, until: number, csrf: string): void {
    accessToken = token;
    expiresAt = until;
    const life = until - now();
    leewayMs = Math.min(options.refreshLeewayMs ?? 30_000, Math.max(0, life / 4));
    csrfToken = csrf;
    storage?.setItem(STORAGE_KEY, csrf);
    generation += 1;
    for (const wake of waiters) wake();
  }

  function forget(): void {
    accessToken = undefined;
    expiresAt = 0;
    csrfToken = undefined;
    pendingMfa = undefined;
    storage?.removeItem(STORAGE_KEY);
    generation += 1;
    for (const wake of waiters) wake();
  }

  const tabs = crossTab(`bastion-client:${baseUrl}`, coordinate, (message: TabMessage) => {
    if (message.type === 'tokens') {
      setTokens(message.accessToken, message.expiresAt, message.csrfToken);
      emit('refreshed');
    } else if (accessToken !== undefined || csrfToken !== undefined) {
      forget();
      emit('signed_out');
    }
  });

  function adopt(answer: TokenResponse, event: SessionEvent): void {
    setTokens(answer.accessToken, now() + answer.expiresIn * 1000, answer.csrfToken);
    tabs.post({
      type: 'tokens',
      accessToken: answer.accessToken,
      expiresAt,
      csrfToken: answer.csrfToken,
    });
    emit(event);
  }

  function signOutHere(): void {
    const had = accessToken !== undefined || currentCsrf() !== undefined;
    forget();
    tabs.post({ type: 'signed_out' });
    if (had) emit('signed_out');
  }

  /** Resolves when a new token arrives or after `ms`. */
  function newTokenWithin(since: number, ms: number): Promise<void> {
    if (generation !== since) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  // Auth endpoints go through `raw` (no bearer, no retry); everything else through `api`.
  const raw = createClient<paths>({ baseUrl, fetch: send, credentials: 'include' });

  async function postRefresh(): Promise<void> {
    const csrf = currentCsrf();
    if (csrf === undefined) {
      throw new BastionError(401, { code: 'unauthorized', title: 'Not signed in' });
    }
    const { data, error, response } = await raw.POST('/auth/refresh', {
      headers: { 'x-csrf-token': csrf },
    });
    if (data === undefined) {
      const err = errorOf(response, error);
      // The session is over (ended, expired, reused token, wrong CSRF): forget it everywhere.
      if (err.status >= 400 && err.status < 500 && err.status !== 429) signOutHere();
      throw err;
    }
    adopt(data, 'refreshed');
  }

  /** One refresh for every caller that asks while it runs, and one per browser at a time. */
  function refreshOnce(): Promise<void> {
    inflight ??= (async () => {
      const since = generation;
      try {
        await tabs.exclusive(async (contended) => {
          // Another tab held the lock: it has just refreshed, and its token is on the way.
          if (contended) await newTokenWithin(since, HANDOVER_WAIT_MS);
          if (generation !== since && fresh()) return;
          await postRefresh();
        });
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  }

  /** A token to send: the current one, or a refreshed one when it is about to expire. */
  async function usableToken(): Promise<string | undefined> {
    if (fresh()) return accessToken;
    if (accessToken === undefined && currentCsrf() === undefined) return undefined;
    const stillValid = accessToken !== undefined && now() < expiresAt;
    try {
      await refreshOnce();
    } catch (err) {
      if (stillValid && accessToken !== undefined) return accessToken;
      if (err instanceof BastionError && err.status >= 400 && err.status < 500) return undefined;
      throw err;
    }
    return accessToken;
  }

  /** Bearer on, and on a 401 one refresh (shared) and one retry. */
  async function authedFetch(request: Request): Promise<Response> {
    if (request.headers.has('authorization')) return send(request);
    const token = await usableToken();
    if (token === undefined) return send(request);
    const retry = request.clone();
    request.headers.set('authorization', `Bearer ${token}`);
    const first = await send(request);
    if (first.status !== 401) return first;
    if (accessToken === token) {
      try {
        await refreshOnce();
      } catch {
        return first;
      }
    }
    if (accessToken === undefined || accessToken === token) return first;
    await first.body?.cancel();
    retry.headers.set('authorization', `Bearer ${accessToken}`);
    return send(retry);
  }

  const api = createClient<paths>({ baseUrl, fetch: authedFetch, credentials: 'include' });

  async function signedIn(result: {
    data?: LoginResponse;
    error?: unknown;
    response: Response;
  }): Promise<SignedIn> {
    if (result.data === undefined) throw errorOf(result.response, result.error);
    pendingMfa = undefined;
    adopt(result.data, 'signed_in');
    const { user, recoveryCodesRemaining } = result.data;
    return recoveryCodesRemaining === undefined
      ? { status: 'signed_in', user }
      : { status: 'signed_in', user, recoveryCodesRemaining };
  }

  return {
    api,

    async login(credentials) {
      const result = await raw.POST('/auth/login', { body: credentials });
      if (result.data === undefined) {
        const err = errorOf(result.response, result.error);
        const mfaToken = err.problem.mfaToken;
        if (err.code === 'mfa_required' && typeof mfaToken === 'string') {
          pendingMfa = mfaToken;
          return { status: 'mfa_required', mfaToken };
        }
        throw err;
      }
      return signedIn(result);
    },

    async loginMfa(code, mfaToken = pendingMfa) {
      if (mfaToken === undefined) throw new Error('No login is waiting for a second factor');
      return signedIn(await raw.POST('/auth/login/mfa', { body: { mfaToken, code } }));
    },

    async signInWithPasskey(get = (o) => browserCredential('get', o)) {
      const { data, error, response } = await raw.POST('/auth/passkeys/login/options');
      if (data === undefined) throw errorOf(response, error);
      const assertion = await get(data);
      return signedIn(
        await raw.POST('/auth/passkeys/login/verify', { body: { response: assertion } }),
      );
    },

    async registerPasskey(create = (o) => browserCredential('create', o), name) {
      const { data, error, response } = await api.POST('/auth/passkeys/register/options');
      if (data === undefined) throw errorOf(response, error);
      const attestation = await create(data);
      const body = name === undefined ? { response: attestation } : { response: attestation, name };
      const verified = await api.POST('/auth/passkeys/register/verify', { body });
      if (verified.data === undefined) throw errorOf(verified.response, verified.error);
      return verified.data;
    },

    refresh: refreshOnce,

    async restore() {
      if (fresh()) return true;
      if (currentCsrf() === undefined) return false;
      try {
        await refreshOnce();
        return true;
      } catch (err) {
        if (err instanceof BastionError && err.status >= 400 && err.status < 500) return false;
        throw err;
      }
    },

    accessToken: usableToken,

    async logout() {
      const csrf = currentCsrf();
      const token = accessToken;
      try {
        // The refresh cookie and its CSRF token end the session even when the access token has
        // expired; without them, the bearer token does.
        const headers: Record<string, string> = csrf
          ? { 'x-csrf-token': csrf }
          : token
            ? { authorization: `Bearer ${token}` }
            : {};
        if (Object.keys(headers).length === 0) return;
        const { error, response } = await raw.POST('/auth/logout', { headers });
        // 401: the session had already ended.
        if (!response.ok && response.status !== 401) throw errorOf(response, error);
      } finally {
        signOutHere();
      }
    },

    async logoutEverywhere() {
      const { error, response } = await api.POST('/auth/logout-all');
      if (!response.ok) throw errorOf(response, error);
      signOutHere();
    },

    get signedIn() {
      return accessToken !== undefined || currentCsrf() !== undefined;
    },

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    close() {
      tabs.close();
    },
  };
}
