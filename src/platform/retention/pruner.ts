/**
 * Retention: rows past their keeping period are deleted (or their personal data erased) in small
 * batches, by every instance, without two instances working on the same rows: each batch is one
 * statement that locks its rows with `FOR UPDATE SKIP LOCKED`, so a concurrent pruner takes the
 * next rows instead of waiting for, or repeating, these. A batch commits on its own, so no lock
 * is held for long and a slow tick never blocks the requests that touch the same tables.
 */
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';

export interface PruneTask {
  /** Stable name, for logs and the tick's report. */
  readonly name: string;
  /** Deletes or erases at most `limit` rows as of `now`; returns how many it touched. */
  run(db: Db, now: Date, limit: number): Promise<number>;
  /** True for a catch-up task: dropped from later ticks once a batch comes back short. */
  readonly untilDone?: boolean;
}

export interface PruneLimits {
  readonly batchSize: number;
  /** Batches per task per tick: the most one tick does is `batchSize × batches` rows per task. */
  readonly batches: number;
}

export interface PruneLog {
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** One tick: each task runs batch after batch until one comes back short or the budget is spent. */
export async function pruneOnce(
  db: Db,
  tasks: readonly PruneTask[],
  now: Date,
  limits: PruneLimits,
  log?: PruneLog,
): Promise<Record<string, { rows: number; done: boolean }>> {
  const report: Record<string, { rows: number; done: boolean }> = {};
  for (const task of tasks) {
    let rows = 0;
    let done = false;
    try {
      for (let i = 0; i < limits.batches && !done; i++) {
        const n = await task.run(db, now, limits.batchSize);
        rows += n;
        done = n < limits.batchSize;
      }
    } catch (err) {
      log?.error({ err, event: 'retention_failed', task: task.name }, 'retention batch failed');
    }
    report[task.name] = { rows, done };
  }
  return report;
}

export interface Pruner {
  /** Runs one tick now (the timer's own ticks never overlap with it). */
  tick(): Promise<void>;
  /** Stops the timer and waits for a running tick. */
  stop(): Promise<void>;
}

/** Starts the timer; it never keeps the process alive. `intervalMs` 0 starts nothing. */
export function startPruner(options: {
  readonly db: Db;
  readonly clock: Clock;
  readonly tasks: readonly PruneTask[];
  readonly intervalMs: number;
  readonly limits: PruneLimits;
  readonly log: PruneLog;
}): Pruner {
  let tasks = [...options.tasks];
  let running: Promise<void> | null = null;
  const tick = (): Promise<void> => {
    if (running) return running;
    running = (async () => {
      const report = await pruneOnce(
        options.db,
        tasks,
        new Date(options.clock.now()),
        options.limits,
        options.log,
      );
      tasks = tasks.filter((t) => !(t.untilDone && report[t.name]?.done));
      const rows = Object.values(report).reduce((sum, r) => sum + r.rows, 0);
      if (rows > 0) options.log.info({ event: 'retention_pruned', report }, 'retention pruned');
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const timer =
    options.intervalMs > 0
      ? setInterval(() => {
          tick().catch(() => undefined);
        }, options.intervalMs)
      : undefined;
  timer?.unref();
  return {
    tick,
    async stop() {
      if (timer) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
