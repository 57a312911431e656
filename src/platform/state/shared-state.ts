/**
 * State shared by every instance: counters and values with a TTL, and pub/sub. Redis in
 * production; an in-memory implementation of the same contract for the embedded default.
 */
import type { Redis } from 'ioredis';

export type Unsubscribe = () => Promise<void>;

export interface SharedState {
  readonly kind: 'redis' | 'memory';
  /** The Redis client behind this state, for libraries that speak Redis themselves. */
  readonly redis: Redis | undefined;
  /** Prefix of every key this state writes; libraries writing to Redis directly use it too. */
  readonly prefix: string;
  /** Increments `key` and returns the new value; the TTL starts with the first increment. */
  incr(key: string, ttlMs: number): Promise<number>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets `key` only if it does not exist; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  del(key: string): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, onMessage: (message: string) => void): Promise<Unsubscribe>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
