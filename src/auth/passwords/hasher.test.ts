import * as argon2 from '@node-rs/argon2';
import * as bcrypt from '@node-rs/bcrypt';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHashPool, type HashPool } from '../../platform/hash-pool.js';
import { type Argon2Params, createPasswordHasher, type PasswordHasher } from './hasher.js';

// Cheap parameters: the ARGON2_* minimums apply to env config only.
const params: Argon2Params = { memoryCost: 1024, timeCost: 2, parallelism: 1 };
const PASSWORD = 'purple tractor whispers at dawn';

/** Counts the tasks the hasher sends to the pool. */
function countingPool(): HashPool & { runs: number } {
  const pool = createHashPool({ concurrency: 2, queue: 16 });
  const counted = {
    runs: 0,
    run<T>(task: () => Promise<T>, options?: { priority?: boolean }) {
      counted.runs++;
      return pool.run(task, options);
    },
    hasRoom: (options?: { priority?: boolean }) => pool.hasRoom(options),
    get active() {
      return pool.active;
    },
    get queued() {
      return pool.queued;
    },
    heldBy: (owner: string) => pool.heldBy(owner),
  };
  return counted;
}

let pool: ReturnType<typeof countingPool>;
let hasher: PasswordHasher;
beforeAll(async () => {
  pool = countingPool();
  hasher = await createPasswordHasher(params, pool);
});

describe('password hasher', () => {
  it('produces an argon2id PHC string with the configured m/t/p and a 16-byte salt', async () => {
    const stored = await hasher.hash(PASSWORD);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=1024,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]+$/);
    const parsed = argon2.parseOptions(stored);
    expect(parsed).toMatchObject({
      algorithm: 2, // Argon2id
      memoryCost: 1024,
      timeCost: 2,
      parallelism: 1,
      saltLen: 16,
      outputLen: 32,
    });
  });

  it('salts: equal passwords give different hashes', async () => {
    const [a, b] = await Promise.all([hasher.hash(PASSWORD), hasher.hash(PASSWORD)]);
    expect(a).not.toBe(b);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hasher.hash(PASSWORD);
    expect(await hasher.verify(stored, PASSWORD)).toEqual({ valid: true, needsRehash: false });
    expect(await hasher.verify(stored, `${PASSWORD}!`)).toEqual({
      valid: false,
      needsRehash: false,
    });
  });

  it('spends a hash on an unknown user and answers invalid', async () => {
    const before = pool.runs;
    expect(await hasher.verify(null, PASSWORD)).toEqual({ valid: false, needsRehash: false });
    expect(pool.runs).toBe(before + 1);
  });

  it('never throws for a malformed stored hash, and still spends a hash', async () => {
    for (const stored of [
      '',
      'plaintext',
      '$argon2id$garbage',
      '$argon2id$v=19$m=1024,t=2,p=1$c2FsdA$',
      '$2b$04$tooShort',
      '$5$rounds=5000$sha256crypt',
    ]) {
      const before = pool.runs;
      expect(await hasher.verify(stored, PASSWORD)).toEqual({ valid: false, needsRehash: false });
      expect(pool.runs).toBe(before + 1);
    }
  });

  it('runs every hash and verify through the pool', async () => {
    const before = pool.runs;
    const stored = await hasher.hash(PASSWORD);
    await hasher.verify(stored, PASSWORD);
    expect(pool.runs).toBe(before + 2);
  });

  it('a full pool refuses with 503 overloaded', async () => {
    const tiny = createHashPool({ concurrency: 1, queue: 0 });
    const h = await createPasswordHasher(params, tiny);
    const first = h.hash(PASSWORD);
    await expect(h.hash(PASSWORD)).rejects.toMatchObject({ code: 'overloaded', status: 503 });
    await first;
  });

  it('accepts an imported bcrypt hash and asks for a rehash', async () => {
    for (const version of ['2a', '2b', '2y'] as const) {
      const stored = await bcrypt.hash(PASSWORD, { cost: 4, version });
      expect(stored.startsWith(`$${version}$04$`)).toBe(true);
      expect(await hasher.verify(stored, PASSWORD)).toEqual({ valid: true, needsRehash: true });
      expect(await hasher.verify(stored, 'not the password at all')).toEqual({
        valid: false,
        needsRehash: false,
      });
    }
  });

  it('asks for a rehash when the stored argon2 hash is weaker than the policy', async () => {
    const weaker: argon2.Options[] = [
      { algorithm: 2, memoryCost: 512, timeCost: 2, parallelism: 1 },
      { algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 1 },
      { algorithm: 1, memoryCost: 1024, timeCost: 2, parallelism: 1 }, // argon2i
      { algorithm: 0, memoryCost: 1024, timeCost: 2, parallelism: 1 }, // argon2d
      { algorithm: 2, memoryCost: 1024, timeCost: 2, parallelism: 1, version: 0 }, // v=16
    ];
    for (const options of weaker) {
      const stored = await argon2.hash(PASSWORD, options);
      expect(await hasher.verify(stored, PASSWORD), stored).toEqual({
        valid: true,
        needsRehash: true,
      });
      expect(await hasher.verify(stored, 'wrong password here')).toEqual({
        valid: false,
        needsRehash: false,
      });
    }
  });

  it('keeps a stronger argon2id hash as it is', async () => {
    const stored = await argon2.hash(PASSWORD, {
      algorithm: 2,
      memoryCost: 2048,
      timeCost: 3,
      parallelism: 2,
    });
    expect(await hasher.verify(stored, PASSWORD)).toEqual({ valid: true, needsRehash: false });
  });
});
