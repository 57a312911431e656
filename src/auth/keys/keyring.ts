/**
 * The signing key ring: asymmetric keys in the database, private halves sealed with the master
 * key. A new key is published in JWKS `publishLeadSeconds` before it signs, so relying parties
 * that cached JWKS a little earlier still verify; a retired key keeps verifying (and stays in
 * JWKS) until every token it signed has expired. Every instance reloads the ring periodically
 * and when told through pub/sub, so rotations need no restart.
 */

import type { webcrypto } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type JWK,
} from 'jose';
import type { JwtAlg } from '../../config.js';
import type { Clock } from '../../platform/clock.js';
import { deriveKey, seal, unseal } from '../../platform/crypto.js';
import type { Db } from '../../platform/db/database.js';
import type { SharedState } from '../../platform/state/shared-state.js';
import { deleteExpiredKeys, insertKeyAndRetireOthers, listLiveKeys } from './keys.store.js';

type CryptoKey = webcrypto.CryptoKey;

export const KEYS_CHANGED_CHANNEL = 'keys-changed';

export interface RingKey {
  readonly kid: string;
  readonly alg: JwtAlg;
  readonly publicJwk: JWK;
  readonly publicKey: CryptoKey;
  readonly privateKey: CryptoKey;
  readonly activatesAt: number;
  readonly expiresAt: number | null;
}

export interface KeyRingOptions {
  readonly db: Db;
  readonly state: SharedState;
  readonly clock: Clock;
  readonly masterKey: Buffer;
  readonly alg: JwtAlg;
  readonly rotationDays: number;
  /** How long a retired key must keep verifying: access-token lifetime plus clock tolerance. */
  readonly verifyOverlapSeconds: number;
  readonly publishLeadSeconds?: number;
  readonly refreshIntervalMs?: number;
  readonly log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export const DEFAULT_PUBLISH_LEAD_SECONDS = 360;
const JWKS_FIELDS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

/** The key that seals signing keys, derived from the master key (also used by `bastion doctor`). */
export function sealingKey(masterKey: Buffer): Buffer {
  return deriveKey(masterKey, 'signing-keys');
}

/** Public members only: whatever jose exports, nothing private can leave through JWKS. */
function publicMembers(jwk: JWK, kid: string, alg: string): JWK {
  const out: JWK = { kid, alg, use: 'sig' };
  for (const field of JWKS_FIELDS) if (jwk[field] !== undefined) out[field] = jwk[field];
  return out;
}

/** Generates a key and stores it; it signs from `activatesAt`. Used by the ring and the CLI. */
export async function createSigningKey(
  db: Db,
  masterKey: Buffer,
  alg: JwtAlg,
  activatesAt: Date,
  verifyOverlapSeconds: number,
): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' ? { modulusLength: 3072 } : {}),
  });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const pem = await exportPKCS8(privateKey);
  await insertKeyAndRetireOthers(
    db,
    {
      kid,
      alg,
      publicJwk: publicMembers(jwk, kid, alg) as Record<string, unknown>,
      privateKeySealed: seal(sealingKey(masterKey), pem, kid),
      activatesAt,
    },
    new Date(activatesAt.getTime() + verifyOverlapSeconds * 1000),
  );
  return kid;
}

export class KeyRing {
  private keys = new Map<string, RingKey>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private lastUnknownKidReload = 0;

  constructor(private readonly options: KeyRingOptions) {}

  /** Loads the ring, creating the first key when none can sign, and starts background refresh. */
  async start(): Promise<void> {
    this.unsubscribe = await this.options.state.subscribe(KEYS_CHANGED_CHANNEL, () => {
      this.reload().catch((err: unknown) => this.options.log.error({ err }, 'key reload failed'));
    });
    await this.reload();
    await this.maintain();
    const interval = this.options.refreshIntervalMs ?? 60_000;
    this.timer = setInterval(() => {
      this.maintain().catch((err: unknown) =>
        this.options.log.error({ err }, 'key maintenance failed'),
      );
    }, interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.unsubscribe?.();
  }

  /** Re-reads the keys from the database. */
  async reload(): Promise<void> {
    const now = new Date(this.options.clock.now());
    const rows = await listLiveKeys(this.options.db, now);
    const next = new Map<string, RingKey>();
    const sealKey = sealingKey(this.options.masterKey);
    for (const row of rows) {
      const known = this.keys.get(row.kid);
      const expiresAt = row.expires_at ? row.expires_at.getTime() : null;
      if (known) {
        next.set(row.kid, { ...known, expiresAt });
        continue;
      }
      const alg = row.alg as JwtAlg;
      const publicJwk = row.public_jwk as JWK;
      const pem = unseal(sealKey, row.private_key_sealed, row.kid);
      next.set(row.kid, {
        kid: row.kid,
        alg,
        publicJwk,
        publicKey: (await importJWK(publicJwk, alg)) as CryptoKey,
        privateKey: await importPKCS8(pem, alg),
        activatesAt: row.activates_at.getTime(),
        expiresAt,
      });
    }
    this.keys = next;
  }

  /** Ensures a signing key exists, rotates when the current one is old, prunes dead keys. */
  async maintain(): Promise<void> {
    const now = this.options.clock.now();
    const signer = this.currentSigner(now);
    const pending = [...this.keys.values()].some(
      (k) => k.activatesAt > now && k.alg === this.options.alg,
    );
    if (!signer) {
      await this.rotate({ immediate: true });
    } else if (!pending && now - signer.activatesAt > this.options.rotationDays * 86_400_000) {
      await this.rotate({ immediate: false });
    }
    await deleteExpiredKeys(this.options.db, new Date(now - 86_400_000));
    await this.reload();
  }

  /** Creates a new key; it signs after the publish lead unless `immediate` (bootstrap only). */
  async rotate(options: { immediate: boolean }): Promise<string> {
    const now = this.options.clock.now();
    const lead = options.immediate
      ? 0
      : (this.options.publishLeadSeconds ?? DEFAULT_PUBLISH_LEAD_SECONDS);
    const kid = await createSigningKey(
      this.options.db,
      this.options.masterKey,
      this.options.alg,
      new Date(now + lead * 1000),
      this.options.verifyOverlapSeconds,
    );
    this.options.log.info({ event: 'signing_key_created', kid }, 'signing key created');
    await this.reload();
    await this.options.state.publish(KEYS_CHANGED_CHANNEL, kid);
    return kid;
  }

  private currentSigner(now: number): RingKey | undefined {
    let best: RingKey | undefined;
    for (const key of this.keys.values()) {
      if (key.alg !== this.options.alg || key.activatesAt > now) continue;
      if (key.expiresAt !== null && key.expiresAt <= now) continue;
      if (!best || key.activatesAt > best.activatesAt) best = key;
    }
    return best;
  }

  /** The key that signs now. */
  signingKey(): RingKey {
    const key = this.currentSigner(this.options.clock.now());
    if (!key) throw new Error('no signing key is active');
    return key;
  }

  /** A key that may verify a token with this `kid` now, or undefined. */
  verificationKey(kid: string | undefined): RingKey | undefined {
    if (!kid) return undefined;
    const key = this.keys.get(kid);
    if (!key) {
      this.reloadSoonForUnknownKid();
      return undefined;
    }
    const now = this.options.clock.now();
    if (key.expiresAt !== null && key.expiresAt <= now) return undefined;
    return key;
  }

  /** JWKS document: every published key's public members. */
  jwks(): { keys: JWK[] } {
    const now = this.options.clock.now();
    return {
      keys: [...this.keys.values()]
        .filter((k) => k.expiresAt === null || k.expiresAt > now)
        .map((k) => k.publicJwk),
    };
  }

  /**
   * A kid we do not know may be a key another instance just created: reload, but at most every
   * 30 s so a flood of random kids cannot turn into database load.
   */
  private reloadSoonForUnknownKid(): void {
    const now = this.options.clock.now();
    if (now - this.lastUnknownKidReload < 30_000) return;
    this.lastUnknownKidReload = now;
    this.reload().catch((err: unknown) => this.options.log.error({ err }, 'key reload failed'));
  }
}
