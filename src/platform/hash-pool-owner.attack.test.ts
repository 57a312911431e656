/**
 * One owner's share of the hash pool (issue 14, item 1): an owner holds at most `perOwner`
 * places, running or queued; past it a task is refused at once with 429 and takes nothing; a
 * place comes back when its task ends, fails, or is refused by the pool (overloaded).
 */
import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { createHashPool } from './hash-pool.js';

/** A task that runs until the test lets it finish. */
function held() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { task: () => done, finish };
}

function codeOf(err: unknown): string | undefined {
  return err instanceof AppError ? err.code : undefined;
}

describe('hash pool: places per owner', () => {
  it('a second task of one owner is refused with 429 and Retry-After while the first holds its place; others are not', async () => {
    const pool = createHashPool({ concurrency: 2, queue: 2, perOwner: 1 });
    const a = held();
    const first = pool.run(a.task, { owner: 'user:a' });
    const second = pool.run(async () => 'ran', { owner: 'user:a' });
    const err = await second.catch((e: unknown) => e);
    expect(codeOf(err)).toBe('rate_limited');
    expect((err as AppError).headers['retry-after']).toBe('1');
    expect(pool.heldBy('user:a')).toBe(1);
    // Another owner, and unowned work (logins), still get places.
    await expect(pool.run(async () => 'b', { owner: 'user:b' })).resolves.toBe('b');
    await expect(pool.run(async () => 'login')).resolves.toBe('login');
    a.finish();
    await first;
    expect(pool.heldBy('user:a')).toBe(0);
    await expect(pool.run(async () => 'again', { owner: 'user:a' })).resolves.toBe('again');
  });

  it('a place is given back when the task throws, and when the pool refuses it (overloaded)', async () => {
    const pool = createHashPool({ concurrency: 1, queue: 0, perOwner: 1 });
    await expect(
      pool.run(
        async () => {
          throw new Error('boom');
        },
        { owner: 'user:c' },
      ),
    ).rejects.toThrow('boom');
    expect(pool.heldBy('user:c')).toBe(0);
    const blocker = held();
    const running = pool.run(blocker.task);
    const refused = await pool.run(async () => 1, { owner: 'user:c' }).catch((e: unknown) => e);
    expect(codeOf(refused)).toBe('overloaded');
    expect(pool.heldBy('user:c')).toBe(0);
    blocker.finish();
    await running;
  });

  it('refuses a perOwner that is not a positive integer', () => {
    expect(() => createHashPool({ concurrency: 1, queue: 0, perOwner: 0 })).toThrow(TypeError);
  });
});
