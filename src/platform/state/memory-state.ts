/** In-process SharedState for a single instance (the embedded default). */
import type { SharedState, Unsubscribe } from './shared-state.js';

interface Entry {
  value: string;
  expiresAt: number;
}

export function createMemoryState(now: () => number = Date.now): SharedState {
  const entries = new Map<string, Entry>();
  const channels = new Map<string, Set<(message: string) => void>>();

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  // Expired keys nobody reads again are swept so memory stays bounded.
  const sweeper = setInterval(() => {
    const t = now();
    for (const [key, entry] of entries) if (entry.expiresAt <= t) entries.delete(key);
  }, 30_000);
  sweeper.unref();

  return {
    kind: 'memory',
    redis: undefined,
    prefix: '',
    async incr(key, ttlMs) {
      const entry = live(key);
      if (!entry) {
        entries.set(key, { value: '1', expiresAt: now() + ttlMs });
        return 1;
      }
      const next = Number(entry.value) + 1;
      entry.value = String(next);
      return next;
    },
    async get(key) {
      return live(key)?.value ?? null;
    },
    async set(key, value, ttlMs) {
      entries.set(key, { value, expiresAt: now() + ttlMs });
    },
    async setIfAbsent(key, value, ttlMs) {
      if (live(key)) return false;
      entries.set(key, { value, expiresAt: now() + ttlMs });
      return true;
    },
    async del(key) {
      entries.delete(key);
    },
    async publish(channel, message) {
      // Delivered asynchronously, as Redis would.
      const handlers = channels.get(channel);
      if (!handlers) return;
      queueMicrotask(() => {
        for (const handler of handlers) handler(message);
      });
    },
    async subscribe(channel, onMessage): Promise<Unsubscribe> {
      let handlers = channels.get(channel);
      if (!handlers) {
        handlers = new Set();
        channels.set(channel, handlers);
      }
      handlers.add(onMessage);
      return async () => {
        handlers.delete(onMessage);
      };
    },
    async ping() {},
    async close() {
      clearInterval(sweeper);
      entries.clear();
      channels.clear();
    },
  };
}
