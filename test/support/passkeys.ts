/**
 * A software WebAuthn authenticator for API tests (issue 15): ES256 credentials, `none`
 * attestation, a signature counter, and knobs to forge what a hostile client would send (another
 * origin or RP ID, no user verification, a counter that goes backwards). Real crypto and real
 * CBOR: the server verifies these with @simplewebauthn/server exactly as a browser's.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import type { App } from '../../src/app.js';
import { bearer, cookieValue } from './auth.js';

/** Minimal CBOR encoder: unsigned/negative ints, byte and text strings, arrays, maps. */
function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

type Cbor = number | string | Uint8Array | Cbor[] | Map<number | string, Cbor>;

export function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  const parts = [head(5, value.size)];
  for (const [k, v] of value) parts.push(cbor(k), cbor(v));
  return Buffer.concat(parts);
}

const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

export interface Forgery {
  /** clientDataJSON's origin (default: the expected one). */
  origin?: string;
  /** The RP ID whose hash goes into authenticatorData (default: the expected one). */
  rpId?: string;
  /** Whether the UV flag is set (default true). */
  userVerified?: boolean;
  /** The counter to report instead of the next one. */
  counter?: number;
  /** Another challenge than the options' one. */
  challenge?: string;
  /** clientDataJSON's type (default webauthn.create / webauthn.get). */
  type?: string;
  /** The credential id to claim at registration (default: a new random one). */
  credentialId?: string;
  /**
   * A synced passkey (cloud keychain): the backup-eligible and backed-up flags set, at
   * registration and on every sign-in with it (default: a device-bound key, neither flag).
   */
  synced?: boolean;
}

export interface Credential {
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly userHandle: string;
  counter: number;
  readonly synced?: boolean;
}

export class SoftAuthenticator {
  readonly credentials: Credential[] = [];

  constructor(
    readonly origin: string,
    readonly rpId = new URL(origin).hostname,
  ) {}

  private authData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter >>> 0);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), c, attested ?? Buffer.alloc(0)]);
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
  }

  /** Answers registration options like `navigator.credentials.create` (RegistrationResponseJSON). */
  create(options: { challenge: string; user: { id: string } }, forge: Forgery = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const credId = forge.credentialId
      ? Buffer.from(forge.credentialId, 'base64url')
      : randomBytes(32);
    const cose = cbor(
      new Map<number, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x as string, 'base64url')],
        [-3, Buffer.from(jwk.y as string, 'base64url')],
      ]),
    );
    const len = Buffer.alloc(2);
    len.writeUInt16BE(credId.length);
    const attested = Buffer.concat([Buffer.alloc(16), len, credId, cose]);
    const uv = forge.userVerified ?? true;
    // UP, UV, AT; BE and BS for a synced passkey.
    const flags = 0x01 | (uv ? 0x04 : 0) | (forge.synced ? 0x18 : 0) | 0x40;
    const counter = forge.counter ?? 0;
    const authData = this.authData(forge.rpId ?? this.rpId, flags, counter, attested);
    const attestationObject = cbor(
      new Map<string, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    const clientDataJSON = this.clientData(
      forge.type ?? 'webauthn.create',
      forge.challenge ?? options.challenge,
      forge.origin ?? this.origin,
    );
    const credential: Credential = {
      id: b64u(credId),
      privateKey,
      userHandle: options.user.id,
      counter,
      synced: forge.synced ?? false,
    };
    this.credentials.push(credential);
    return {
      credential,
      response: {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        response: {
          clientDataJSON: b64u(clientDataJSON),
          attestationObject: b64u(attestationObject),
          transports: ['internal'],
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      },
    };
  }

  /** Answers sign-in options like `navigator.credentials.get` with a discoverable credential. */
  get(options: { challenge: string }, credential: Credential, forge: Forgery = {}) {
    const uv = forge.userVerified ?? true;
    const counter = forge.counter ?? credential.counter + 1;
    credential.counter = Math.max(credential.counter, counter);
    const flags = 0x01 | (uv ? 0x04 : 0) | (credential.synced ? 0x18 : 0);
    const authData = this.authData(forge.rpId ?? this.rpId, flags, counter);
    const clientDataJSON = this.clientData(
      forge.type ?? 'webauthn.get',
      forge.challenge ?? options.challenge,
      forge.origin ?? this.origin,
    );
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), {
      key: credential.privateKey,
      dsaEncoding: 'der',
    });
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}

export const PASSKEY_COOKIE = 'bastion_passkey';

/** Registration options for a signed-in caller (the raw response). */
export function registerOptions(app: App, token: string) {
  return app.inject({
    method: 'POST',
    url: '/auth/passkeys/register/options',
    headers: bearer(token),
  });
}

export function registerVerify(app: App, token: string, response: unknown, name?: string) {
  return app.inject({
    method: 'POST',
    url: '/auth/passkeys/register/verify',
    headers: bearer(token),
    payload: name === undefined ? { response } : { response, name },
  });
}

/** Registers a passkey through the API with `auth`; returns it with its row id. */
export async function addPasskey(
  app: App,
  token: string,
  auth: SoftAuthenticator,
  forge: Forgery = {},
) {
  const options = await registerOptions(app, token);
  if (options.statusCode !== 200) throw new Error(`options: ${options.statusCode} ${options.body}`);
  const made = auth.create(options.json(), forge);
  const res = await registerVerify(app, token, made.response);
  if (res.statusCode !== 201) throw new Error(`verify: ${res.statusCode} ${res.body}`);
  return { credential: made.credential, id: res.json().id as string };
}

/** Sign-in options and the challenge cookie this "browser" holds. */
export async function loginOptions(app: App) {
  const res = await app.inject({ method: 'POST', url: '/auth/passkeys/login/options' });
  if (res.statusCode !== 200) throw new Error(`login options: ${res.statusCode} ${res.body}`);
  const nonce = cookieValue(res.headers['set-cookie'], PASSKEY_COOKIE);
  if (!nonce) throw new Error('no passkey challenge cookie');
  return { options: res.json() as { challenge: string }, cookie: `${PASSKEY_COOKIE}=${nonce}` };
}

export function loginVerify(app: App, cookie: string | undefined, response: unknown) {
  return app.inject({
    method: 'POST',
    url: '/auth/passkeys/login/verify',
    headers: cookie ? { cookie } : {},
    payload: { response },
  });
}
