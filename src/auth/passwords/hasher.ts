/**
 * Password hashing: argon2id for everything new, bcrypt verified only for imported users, and a
 * "needs rehash" verdict so a successful login upgrades old or weak hashes. Every hash and verify
 * runs on the bounded hash pool, off the event loop.
 */
import { randomBytes } from 'node:crypto';
import * as argon2 from '@node-rs/argon2';
import * as bcrypt from '@node-rs/bcrypt';
import type { HashPool, HashPoolRunOptions } from '../../platform/hash-pool.js';

export interface Argon2Params {
  /** KiB. */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export interface VerifyResult {
  valid: boolean;
  /** True only when `valid` and the stored hash is weaker than the configured policy. */
  needsRehash: boolean;
}

export interface PasswordHasher {
  /**
   * Hashes an (already NFKC-normalized) password with argon2id and the configured parameters.
   * `options.owner` caps the pool places one account holds (hash-pool.ts).
   */
  hash(password: string, options?: HashPoolRunOptions): Promise<string>;
  /** Whether the hash pool would take a verify now; false means it would answer `overloaded`. */
  hasRoom(options?: HashPoolRunOptions): boolean;
  /**
   * Verifies a password against a stored hash. `stored === null` (unknown user) and malformed
   * hashes spend the same work against a dummy hash and answer `valid: false`; never throws for
   * a bad stored hash.
   */
  verify(
    stored: string | null,
    password: string,
    options?: HashPoolRunOptions,
  ): Promise<VerifyResult>;
  /**
   * Takes a place on the hash pool first, then runs `lookup` (the account's stored hash) and the
   * verify in that place. A request the pool refuses (503 `overloaded`) thus costs no look-up,
   * exactly, however many arrive at once (issue 5).
   */
  verifyLookedUp<T>(
    lookup: () => Promise<{ stored: string | null; value: T }>,
    password: string,
    options?: HashPoolRunOptions,
  ): Promise<{ value: T; result: VerifyResult }>;
}

/** Runs one hashing task: on the pool, or directly when a pool place is already held. */
type Exec = <R>(task: () => Promise<R>) => Promise<R>;

// `Algorithm` and `Version` are ambient const enums in @node-rs/argon2's typings, which
// isolatedModules forbids, and the runtime export is an empty object: use the numeric values.
/** `Algorithm.Argon2id` (Argon2d = 0, Argon2i = 1). */
const ARGON2ID = 2;
/** `Version.V0x13`, the current version (V0x10 = 0). */
const ARGON2_VERSION_0X13 = 1;

const BCRYPT_PREFIX = /^\$2[aby]\$\d{2}\$/;

const INVALID: VerifyResult = Object.freeze({ valid: false, needsRehash: false });

/** Creates the hasher; also makes the dummy hash (same parameters) used for unknown users. */
export async function createPasswordHasher(
  params: Argon2Params,
  pool: HashPool,
): Promise<PasswordHasher> {
  const options: argon2.Options = {
    algorithm: ARGON2ID,
    memoryCost: params.memoryCost,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
  };
  const dummyHash = await pool.run(() =>
    argon2.hash(randomBytes(32).toString('base64url'), options),
  );

  function isWeaker(stored: argon2.ParsedHashOptions): boolean {
    return (
      stored.algorithm !== ARGON2ID ||
      stored.version !== ARGON2_VERSION_0X13 ||
      stored.memoryCost < params.memoryCost ||
      stored.timeCost < params.timeCost ||
      stored.parallelism < params.parallelism
    );
  }

  async function spendDummyWork(password: string, exec: Exec): Promise<VerifyResult> {
    await exec(() => argon2.verify(dummyHash, password).catch(() => false));
    return INVALID;
  }

  async function verifyArgon2(stored: string, password: string, exec: Exec): Promise<VerifyResult> {
    let parsed: argon2.ParsedHashOptions;
    try {
      parsed = argon2.parseOptions(stored);
    } catch {
      return spendDummyWork(password, exec);
    }
    const valid = await exec(() => argon2.verify(stored, password).catch(() => false));
    return valid ? { valid: true, needsRehash: isWeaker(parsed) } : INVALID;
  }

  async function verifyBcrypt(stored: string, password: string, exec: Exec): Promise<VerifyResult> {
    const valid = await exec(() => bcrypt.verify(password, stored).catch(() => false));
    // Any valid bcrypt hash is upgraded to argon2id.
    return valid ? { valid: true, needsRehash: true } : INVALID;
  }

  function verifyWith(stored: string | null, password: string, exec: Exec) {
    if (stored?.startsWith('$argon2')) return verifyArgon2(stored, password, exec);
    if (stored && BCRYPT_PREFIX.test(stored)) return verifyBcrypt(stored, password, exec);
    return spendDummyWork(password, exec);
  }

  const direct: Exec = (task) => task();

  return {
    hasRoom: (run) => pool.hasRoom(run),
    hash(password, run) {
      return pool.run(() => argon2.hash(password, options), run);
    },
    verify(stored, password, run) {
      return verifyWith(stored, password, (task) => pool.run(task, run));
    },
    verifyLookedUp(lookup, password, run) {
      return pool.run(async () => {
        const { stored, value } = await lookup();
        return { value, result: await verifyWith(stored, password, direct) };
      }, run);
    },
  };
}
