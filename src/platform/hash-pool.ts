/**
 * Admission control for password hashing (DESIGN.md, Abuse resistance): at most `concurrency`
 * hashes in flight and a short bounded queue; beyond it a request is refused at once with
 * 503 `overloaded` instead of queueing without bound while the CPU melts.
 */
import { type AppError, platformError } from './errors.js';

export interface HashPoolRunOptions {
  /**
   * Goes ahead of every non-priority waiter (logins with a valid device cookie). When the queue
   * is full, a priority task takes the place of the newest non-priority waiter, which is refused.
   */
  priority?: boolean;
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
}

interface Waiter {
  start(): void;
  refuse(err: AppError): void;
}

function overloaded(): AppError {
  return platformError('overloaded', undefined, { 'retry-after': '1' });
}

/** Creates a bounded pool; `concurrency` >= 1, `queue` >= 0. */
export function createHashPool(options: { concurrency: number; queue: number }): HashPool {
  const { concurrency, queue } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError('hash pool concurrency must be an integer >= 1');
  if (!Number.isInteger(queue) || queue < 0)
    throw new TypeError('hash pool queue must be an integer >= 0');

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

  return {
    run<T>(task: () => Promise<T>, runOptions?: HashPoolRunOptions): Promise<T> {
      const priority = runOptions?.priority === true;
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
  };
}
