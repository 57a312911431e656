/**
 * Admission control for password hashing (DESIGN.md, Abuse resistance): at most `concurrency`
 * hashes in flight and a short bounded queue; beyond it a request is refused at once with
 * 503 `overloaded` instead of queueing without bound while the CPU melts.
 */
import { type AppError, platformError } from './errors.js';
import { rateLimited } from './rate-limit/limiters.js';

export interface HashPoolRunOptions {
  /**
   * Goes ahead of every non-priority waiter (logins with a valid device cookie). When the queue
   * is full, a priority task takes the place of the newest non-priority waiter, which is refused.
   */
  priority?: boolean;
  /**
   * Whose task this is (an account, for the authenticated operations: password change). One
   * owner holds at most `perOwner` places, running or queued; beyond it the task is refused with
   * 429 `rate_limited` at once, so one account cannot fill the pool and 503 everyone else.
   */
  owner?: string;
}

export interface HashPool {
  run<T>(task: () => Promise<T>, options?: HashPoolRunOptions): Promise<T>;
  /**
   * Whether `run` would accept a task now (run or queue it) rather than refuse it: lets a caller
   * refuse before spending anything else (a database look-up) on a hash that cannot happen.
   */
  hasRoom(options?: HashPoolRunOptions): boolean;
  /** Tasks running now. */
  readonly active: number;
  /** Tasks waiting for a slot. */
  readonly queued: number;
  /** Places (running or queued) held by `owner` now. */
  heldBy(owner: string): number;
}

interface Waiter {
  start(): void;
  refuse(err: AppError): void;
}

function overloaded(): AppError {
  return platformError('overloaded', undefined, { 'retry-after': '1' });
}

/**
 * Creates a bounded pool; `concurrency` >= 1, `queue` >= 0, `perOwner` >= 1 (places one owner
 * may hold; unlimited when unset).
 */
export function createHashPool(options: {
  concurrency: number;
  queue: number;
  perOwner?: number;
}): HashPool {
  const { concurrency, queue } = options;
  const perOwner = options.perOwner ?? Number.POSITIVE_INFINITY;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError('hash pool concurrency must be an integer >= 1');
  if (!Number.isInteger(queue) || queue < 0)
    throw new TypeError('hash pool queue must be an integer >= 0');
  if (perOwner !== Number.POSITIVE_INFINITY && (!Number.isInteger(perOwner) || perOwner < 1))
    throw new TypeError('hash pool perOwner must be an integer >= 1');

  const held = new Map<string, number>();
  const take = (owner: string | undefined) => {
    if (owner !== undefined) held.set(owner, (held.get(owner) ?? 0) + 1);
  };
  const release = (owner: string | undefined) => {
    if (owner === undefined) return;
    const n = (held.get(owner) ?? 0) - 1;
    if (n > 0) held.set(owner, n);
    else held.delete(owner);
  };

  let active = 0;
  // Two FIFOs: priority waiters always leave first.
  const priorityWaiters: Waiter[] = [];
  const waiters: Waiter[] = [];

  const queued = () => priorityWaiters.length + waiters.length;

  function next(): void {
    // The freed slot is handed over synchronously, so no other caller can slip in between.
    const waiter = priorityWaiters.shift() ?? waiters.shift();
    waiter?.start();
  }

  async function execute<T>(task: () => Promise<T>): Promise<T> {
    active++;
    try {
      return await task();
    } finally {
      active--;
      next();
    }
  }

  function enqueue<T>(task: () => Promise<T>, priority: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          execute(task).then(resolve, reject);
        },
        refuse: reject,
      };
      (priority ? priorityWaiters : waiters).push(waiter);
    });
  }

  function admit<T>(task: () => Promise<T>, priority: boolean): Promise<T> {
    if (active < concurrency && queued() === 0) return execute(task);
    if (queued() < queue) return enqueue(task, priority);
    if (priority) {
      // A full queue of attackers' guesses must not lock out a known device.
      const displaced = waiters.pop();
      if (displaced) {
        displaced.refuse(overloaded());
        return enqueue(task, true);
      }
    }
    return Promise.reject(overloaded());
  }

  return {
    run<T>(task: () => Promise<T>, runOptions?: HashPoolRunOptions): Promise<T> {
      const owner = runOptions?.owner;
      if (owner === undefined) return admit(task, runOptions?.priority === true);
      // The owner's share is checked before the pool's room: a refusal takes nothing.
      if ((held.get(owner) ?? 0) >= perOwner) return Promise.reject(rateLimited(perOwner, 1000));
      take(owner);
      let ran = false;
      const owned = async () => {
        ran = true;
        try {
          return await task();
        } finally {
          release(owner);
        }
      };
      return admit(owned, runOptions?.priority === true).catch((err: unknown) => {
        // Refused (overloaded, displaced) before the task ran: give the place back.
        if (!ran) release(owner);
        throw err;
      });
    },
    hasRoom(runOptions?: HashPoolRunOptions): boolean {
      if (active < concurrency && queued() === 0) return true;
      if (queued() < queue) return true;
      return runOptions?.priority === true && waiters.length > 0;
    },
    get active() {
      return active;
    },
    get queued() {
      return queued();
    },
    heldBy(owner: string): number {
      return held.get(owner) ?? 0;
    },
  };
}
