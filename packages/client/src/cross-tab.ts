/**
 * Tabs of one browser share the refresh cookie, so they share one session: a refresh in one tab
 * rotates the cookie for all. A Web Lock (`navigator.locks`) lets one tab refresh at a time and a
 * BroadcastChannel hands the new access token to the others, which then need no refresh of their
 * own. Where neither exists (Node, old browsers) each client refreshes for itself; the server's
 * grace window still gives two refreshes of the same token the same successor.
 *
 * Only the few members used here are typed, so the package needs no DOM library to type-check.
 */

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
  request<T>(
    name: string,
    options: { ifAvailable: boolean },
    callback: (lock: unknown) => Promise<T>,
  ): Promise<T>;
}

interface ChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  unref?: () => void;
}

/** What one tab tells the others. */
export type TabMessage =
  | { type: 'tokens'; accessToken: string; expiresAt: number; csrfToken: string }
  | { type: 'signed_out' };

export interface CrossTab {
  /**
   * Runs `fn` while no other tab runs it under the same name; `contended` says another tab held
   * the lock first (it may have just refreshed).
   */
  exclusive<T>(fn: (contended: boolean) => Promise<T>): Promise<T>;
  post(message: TabMessage): void;
  close(): void;
}

type Globals = {
  navigator?: { locks?: LockManagerLike };
  BroadcastChannel?: new (name: string) => ChannelLike;
};

export function crossTab(
  name: string,
  enabled: boolean,
  onMessage: (message: TabMessage) => void,
): CrossTab {
  const g = globalThis as unknown as Globals;
  const locks = enabled ? g.navigator?.locks : undefined;
  let channel: ChannelLike | undefined;
  if (enabled && g.BroadcastChannel) {
    channel = new g.BroadcastChannel(name);
    channel.onmessage = (event) => onMessage(event.data as TabMessage);
    // Node keeps its process alive while a channel is open.
    channel.unref?.();
  }
  return {
    async exclusive(fn) {
      if (!locks) return fn(false);
      const first = await locks.request(name, { ifAvailable: true }, async (lock) =>
        lock ? { ran: true as const, value: await fn(false) } : { ran: false as const },
      );
      if (first.ran) return first.value;
      return locks.request(name, () => fn(true));
    },
    post(message) {
      channel?.postMessage(message);
    },
    close() {
      channel?.close();
      channel = undefined;
    },
  };
}
