import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { createHashPool } from './hash-pool.js';

/** A task the test finishes by hand. */
function gate<T = string>(value?: T) {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  let started = false;
  return {
    task: async () => {
      started = true;
      await done;
      return value as T;
    },
    open: () => open(),
    fail: (err: Error) => fail(err),
    get started() {
      return started;
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function expectOverloaded(promise: Promise<unknown>) {
  const err = await promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  const appError = err as AppError;
  expect(appError.code).toBe('overloaded');
  expect(appError.status).toBe(503);
  expect(appError.headers['retry-after']).toBe('1');
}

describe('hash pool', () => {
  it('runs at most `concurrency` tasks and queues up to `queue` more', async () => {
    const pool = createHashPool({ concurrency: 2, queue: 2 });
    const gates = [gate('a'), gate('b'), gate('c'), gate('d')];
    const results = gates.map((g) => pool.run(g.task));
    await tick();
    expect(gates.map((g) => g.started)).toEqual([true, true, false, false]);
    expect(pool.active).toBe(2);
    expect(pool.queued).toBe(2);

    gates[0]?.open();
    await tick();
    expect(gates[2]?.started).toBe(true);
    expect(gates[3]?.started).toBe(false);
    expect(pool.active).toBe(2);
    expect(pool.queued).toBe(1);

    for (const g of gates) g.open();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
    expect(pool.active).toBe(0);
    expect(pool.queued).toBe(0);
  });

  it('refuses at once with 503 overloaded and Retry-After when the queue is full', async () => {
    const pool = createHashPool({ concurrency: 1, queue: 1 });
    const running = gate();
    const waiting = gate();
    const first = pool.run(running.task);
    const second = pool.run(waiting.task);
    const refusedTask = gate();
    await expectOverloaded(pool.run(refusedTask.task));
    expect(refusedTask.started).toBe(false);
    expect(pool.queued).toBe(1);

    running.open();
    waiting.open();
    await Promise.all([first, second]);
  });

  it('with no queue, refuses as soon as every slot is busy', async () => {
    const pool = createHashPool({ concurrency: 1, queue: 0 });
    const running = gate();
    const first = pool.run(running.task);
    await expectOverloaded(pool.run(async () => 1));
    await expectOverloaded(pool.run(async () => 1, { priority: true }));
    running.open();
    await first;
    expect(await pool.run(async () => 2)).toBe(2);
  });

  it('starts priority tasks before earlier non-priority ones, FIFO within each class', async () => {
    const pool = createHashPool({ concurrency: 1, queue: 10 });
    const order: string[] = [];
    const running = gate();
    const all = [pool.run(running.task)];
    const add = (name: string, priority: boolean) =>
      all.push(
        pool.run(
          async () => {
            order.push(name);
            return name;
          },
          { priority },
        ),
      );
    add('n1', false);
    add('n2', false);
    add('p1', true);
    add('n3', false);
    add('p2', true);
    running.open();
    await Promise.all(all);
    expect(order).toEqual(['p1', 'p2', 'n1', 'n2', 'n3']);
  });

  it('a priority task displaces the newest non-priority waiter when the queue is full', async () => {
    const pool = createHashPool({ concurrency: 1, queue: 2 });
    const running = gate();
    const first = pool.run(running.task);
    const older = pool.run(async () => 'older');
    const newer = pool.run(async () => 'newer');
    const known = pool.run(async () => 'known device', { priority: true });
    await expectOverloaded(newer);
    expect(pool.queued).toBe(2);

    // Once the queue holds only priority waiters, another priority task is refused too.
    const second = pool.run(async () => 'second known device', { priority: true });
    await expectOverloaded(older);
    await expectOverloaded(pool.run(async () => 'third', { priority: true }));

    running.open();
    await first;
    expect(await known).toBe('known device');
    expect(await second).toBe('second known device');
  });

  it('a task that throws or rejects frees its slot', async () => {
    const pool = createHashPool({ concurrency: 1, queue: 1 });
    const failing = gate();
    const failed = pool.run(failing.task);
    const queued = pool.run(async () => 'after');
    failing.fail(new Error('boom'));
    await expect(failed).rejects.toThrow('boom');
    expect(await queued).toBe('after');

    const syncThrow = (() => {
      throw new Error('sync boom');
    }) as unknown as () => Promise<never>;
    await expect(pool.run(syncThrow)).rejects.toThrow('sync boom');
    expect(pool.active).toBe(0);
    expect(await pool.run(async () => 'still works')).toBe('still works');
  });

  it('hasRoom says beforehand whether run would refuse (issue 5: refuse before the look-up)', async () => {
    const pool = createHashPool({ concurrency: 1, queue: 1 });
    expect(pool.hasRoom()).toBe(true);
    const running = gate();
    const first = pool.run(running.task);
    expect(pool.hasRoom()).toBe(true); // the queue has a place
    const waiting = pool.run(async () => 'waiting');
    expect(pool.hasRoom()).toBe(false);
    // A known device would displace the non-priority waiter.
    expect(pool.hasRoom({ priority: true })).toBe(true);
    await expectOverloaded(pool.run(async () => 'refused'));
    running.open();
    await first;
    expect(await waiting).toBe('waiting');
    expect(pool.hasRoom()).toBe(true);
  });

  it('rejects nonsensical limits at construction', () => {
    expect(() => createHashPool({ concurrency: 0, queue: 1 })).toThrow(TypeError);
    expect(() => createHashPool({ concurrency: 1, queue: -1 })).toThrow(TypeError);
  });
});
