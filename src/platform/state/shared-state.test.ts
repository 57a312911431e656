/** One contract, two implementations: what the memory state does, Redis does, and vice versa. */
import { afterEach, describe, expect, it } from 'vitest';
import { randomPrefix, redisUrl } from '../../../test/support/services.js';
import { manualClock } from '../clock.js';
import { createMemoryState } from './memory-state.js';
import { createRedisState } from './redis-state.js';
import type { SharedState } from './shared-state.js';

/**
 * Opens a state and a peer: another instance sharing it (itself, for the in-process one), and
 * `elapse`, which lets TTLs run out: the memory state runs on a manual clock that it moves; Redis
 * keeps its TTLs on the server's clock, so it waits for real.
 */
type Open = () => Promise<{
  state: SharedState;
  peer: SharedState;
  elapse: (ms: number) => Promise<void>;
}>;

const REDIS_URL = await redisUrl(); // throws under CI=true when Redis does not answer

const implementations: [string, Open | undefined][] = [
  [
    'memory',
    async () => {
      const clock = manualClock();
      const state = createMemoryState(clock.now);
      return { state, peer: state, elapse: async (ms) => clock.advance(ms) };
    },
  ],
  [
    'redis',
    REDIS_URL
      ? async () => {
          const prefix = randomPrefix();
          const url = REDIS_URL;
          return {
            state: await createRedisState(url, { prefix }),
            peer: await createRedisState(url, { prefix }),
            elapse: (ms: number) => sleep(ms + 50),
          };
        }
      : undefined,
  ],
];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Collects messages and lets a test wait for the next one. */
function inbox() {
  const messages: string[] = [];
  const waiters: (() => void)[] = [];
  return {
    messages,
    handler: (m: string) => {
      messages.push(m);
      for (const w of waiters.splice(0)) w();
    },
    async waitFor(count: number, timeoutMs = 2000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} messages, got ${messages}`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(50)]);
      }
    },
  };
}

for (const [name, open] of implementations) {
  describe.skipIf(!open)(`shared state contract: ${name}`, () => {
    let state: SharedState;
    let peer: SharedState;
    let elapse: (ms: number) => Promise<void>;
    const opened: SharedState[] = [];

    const setup = async () => {
      ({ state, peer, elapse } = await (open as Open)());
      opened.push(state, peer);
    };
    afterEach(async () => {
      await Promise.all([...new Set(opened.splice(0))].map((s) => s.close()));
    });

    it('answers ping and says what it is', async () => {
      await setup();
      await state.ping();
      expect(state.kind).toBe(name);
    });

    it('incr counts from 1, per key', async () => {
      await setup();
      expect(await state.incr('a', 10_000)).toBe(1);
      expect(await state.incr('a', 10_000)).toBe(2);
      expect(await peer.incr('a', 10_000)).toBe(3);
      expect(await state.incr('b', 10_000)).toBe(1);
    });

    it('incr is atomic under a concurrent burst', async () => {
      await setup();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? state : peer).incr('burst', 10_000)),
      );
      expect(results.sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it('incr: the TTL starts at the first increment and later ones do not extend it', async () => {
      await setup();
      expect(await state.incr('window', 400)).toBe(1);
      await elapse(200);
      expect(await state.incr('window', 400)).toBe(2); // still inside the first window
      await elapse(250); // 450+ ms after the first increment: past it, but not past a renewed TTL
      expect(await state.incr('window', 400)).toBe(1);
    });

    it('get/set round-trips, overwrites, and expires with the TTL', async () => {
      await setup();
      expect(await state.get('missing')).toBeNull();
      await state.set('k', 'v1', 300);
      expect(await peer.get('k')).toBe('v1');
      await state.set('k', 'v2', 300);
      expect(await state.get('k')).toBe('v2');
      await elapse(300);
      expect(await state.get('k')).toBeNull();
    });

    it('setIfAbsent sets once, keeps the first value, and is free again after expiry', async () => {
      await setup();
      expect(await state.setIfAbsent('once', 'first', 300)).toBe(true);
      expect(await peer.setIfAbsent('once', 'second', 300)).toBe(false);
      expect(await state.get('once')).toBe('first');
      await elapse(300);
      expect(await peer.setIfAbsent('once', 'third', 300)).toBe(true);
      expect(await state.get('once')).toBe('third');
    });

    it('setIfAbsent has exactly one winner under a concurrent burst', async () => {
      await setup();
      const wins = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? state : peer).setIfAbsent('lock', `${i}`, 5000),
        ),
      );
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it('del removes values and counters; deleting a missing key is harmless', async () => {
      await setup();
      await state.set('gone', 'v', 10_000);
      await state.incr('count', 10_000);
      await state.incr('count', 10_000);
      await peer.del('gone');
      await peer.del('count');
      await peer.del('never-existed');
      expect(await state.get('gone')).toBeNull();
      expect(await state.incr('count', 10_000)).toBe(1);
    });

    it('publish reaches every subscriber of the channel, on every instance, and no other', async () => {
      await setup();
      const a = inbox();
      const b = inbox();
      const other = inbox();
      await state.subscribe('events', a.handler);
      await peer.subscribe('events', b.handler);
      await peer.subscribe('other', other.handler);
      await state.publish('events', 'hello');
      await Promise.all([a.waitFor(1), b.waitFor(1)]);
      await peer.publish('other', 'marker'); // delivered after 'hello' had its chance
      await other.waitFor(1);
      expect(a.messages).toEqual(['hello']);
      expect(b.messages).toEqual(['hello']);
      expect(other.messages).toEqual(['marker']);
    });

    it('an unsubscribed handler gets nothing more; the others still do', async () => {
      await setup();
      const gone = inbox();
      const stays = inbox();
      const unsubscribe = await peer.subscribe('news', gone.handler);
      await peer.subscribe('news', stays.handler);
      await state.publish('news', 'one');
      await Promise.all([gone.waitFor(1), stays.waitFor(1)]);
      await unsubscribe();
      await state.publish('news', 'two');
      await stays.waitFor(2);
      expect(stays.messages).toEqual(['one', 'two']);
      expect(gone.messages).toEqual(['one']);
    });

    it('after the last handler unsubscribes, the channel is silent', async () => {
      await setup();
      const gone = inbox();
      const sentinel = inbox();
      const unsubscribe = await peer.subscribe('quiet', gone.handler);
      await unsubscribe();
      await peer.subscribe('sentinel', sentinel.handler);
      await state.publish('quiet', 'lost');
      await state.publish('sentinel', 'after');
      await sentinel.waitFor(1);
      expect(gone.messages).toEqual([]);
    });
  });
}

describe.skipIf(!REDIS_URL)('redis state isolation', () => {
  it('two prefixes on one server share neither keys nor channels', async () => {
    const url = REDIS_URL as string;
    const one = await createRedisState(url, { prefix: randomPrefix() });
    const two = await createRedisState(url, { prefix: randomPrefix() });
    try {
      await one.set('shared-name', 'one', 10_000);
      expect(await two.get('shared-name')).toBeNull();
      expect(await two.incr('ctr', 10_000)).toBe(1);
      expect(await one.incr('ctr', 10_000)).toBe(1);
      const heard = inbox();
      const sentinel = inbox();
      await two.subscribe('ch', heard.handler);
      await two.subscribe('sentinel', sentinel.handler);
      await one.publish('ch', 'leak');
      await two.publish('sentinel', 'after');
      await sentinel.waitFor(1);
      expect(heard.messages).toEqual([]);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
