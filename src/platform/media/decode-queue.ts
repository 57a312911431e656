/**
 * Admission control for image decodes (issue 14, item 8): a 49 KB PNG can decode to 64 MB and
 * hold a thread of libuv's shared pool (the one argon2, fs and DNS also use) for over a second.
 * At most `concurrency` decodes run at once and `queue` wait; beyond that an upload is refused at
 * once with 503 `overloaded` and `Retry-After`, like a password hash (the same bounded pool).
 */
import { createHashPool } from '../hash-pool.js';

type SharpModule = typeof import('sharp')['default'];
let sharpModule: Promise<SharpModule> | undefined;

/**
 * sharp, imported on the first image (issue 17: libvips and its threads are ~20 MB of RSS that an
 * instance serving no upload never needs), with its process-wide limits: one libvips thread per
 * decode, so the queue's `concurrency` bounds the threads decodes take, and no operation cache
 * holding decoded pixels after the request.
 */
export function loadSharp(): Promise<SharpModule> {
  sharpModule ??= import('sharp').then(({ default: sharp }) => {
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  });
  return sharpModule;
}

export interface DecodeQueueOptions {
  readonly concurrency: number;
  readonly queue: number;
}

/** One decode at a time, four waiting: a few seconds of work at most, never an unbounded pile. */
export const DECODE_QUEUE_DEFAULTS: DecodeQueueOptions = { concurrency: 1, queue: 4 };

export interface DecodeQueue {
  /** Runs a decode when a slot is free; rejects with 503 `overloaded` when the queue is full. */
  run<T>(decode: () => Promise<T>): Promise<T>;
  /** Decodes running now. */
  readonly active: number;
  /** Decodes waiting for a slot. */
  readonly queued: number;
  /** Decodes started since the queue was made: proof that a refused image was never decoded. */
  readonly started: number;
}

/** Creates the queue; sharp's process-wide limits are set by `loadSharp` on the first image. */
export function createDecodeQueue(
  options: DecodeQueueOptions = DECODE_QUEUE_DEFAULTS,
): DecodeQueue {
  const pool = createHashPool(options);
  let started = 0;
  return {
    run(decode) {
      return pool.run(() => {
        started++;
        return decode();
      });
    },
    get active() {
      return pool.active;
    },
    get queued() {
      return pool.queued;
    },
    get started() {
      return started;
    },
  };
}
