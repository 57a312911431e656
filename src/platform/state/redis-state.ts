/** SharedState over Redis: one command connection and one subscriber connection. */
import { Redis } from 'ioredis';
import type { SharedState, Unsubscribe } from './shared-state.js';

export interface RedisStateOptions {
  /** Prefix for every key and channel, so several deployments (or tests) can share a server. */
  readonly prefix?: string;
  readonly onError?: (err: Error) => void;
}

/** Connects to Redis and fails fast when it does not answer. */
export async function createRedisState(
  url: string,
  options: RedisStateOptions = {},
): Promise<SharedState> {
  const prefix = options.prefix ?? 'bastion:';
  const clientOptions = {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    enableOfflineQueue: true,
  };
  const redis = new Redis(url, clientOptions);
  const subscriber = new Redis(url, clientOptions);
  const onError = options.onError ?? (() => {});
  redis.on('error', onError);
  subscriber.on('error', onError);
  await Promise.all([redis.connect(), subscriber.connect()]);

  const handlers = new Map<string, Set<(message: string) => void>>();
  subscriber.on('message', (channel: string, message: string) => {
    const set = handlers.get(channel);
    if (set) for (const handler of set) handler(message);
  });

  return {
    kind: 'redis',
    redis,
    prefix,
    async incr(key, ttlMs) {
      // One round trip; PEXPIRE NX sets the TTL only when the key has none (the first increment).
      const result = await redis
        .multi()
        .incr(prefix + key)
        .pexpire(prefix + key, ttlMs, 'NX')
        .exec();
      const value = result?.[0]?.[1];
      if (typeof value !== 'number') throw new Error('redis INCR failed');
      return value;
    },
    async get(key) {
      return redis.get(prefix + key);
    },
    async set(key, value, ttlMs) {
      await redis.set(prefix + key, value, 'PX', ttlMs);
    },
    async setIfAbsent(key, value, ttlMs) {
      return (await redis.set(prefix + key, value, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async del(key) {
      await redis.del(prefix + key);
    },
    async publish(channel, message) {
      await redis.publish(prefix + channel, message);
    },
    async subscribe(channel, onMessage): Promise<Unsubscribe> {
      const full = prefix + channel;
      let set = handlers.get(full);
      if (!set) {
        set = new Set();
        handlers.set(full, set);
        await subscriber.subscribe(full);
      }
      set.add(onMessage);
      return async () => {
        set.delete(onMessage);
        if (set.size === 0) {
          handlers.delete(full);
          await subscriber.unsubscribe(full);
        }
      };
    },
    async ping() {
      await redis.ping();
    },
    async close() {
      await Promise.allSettled([redis.quit(), subscriber.quit()]);
    },
  };
}
