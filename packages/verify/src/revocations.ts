/**
 * Follows Bastion's revocation feed (`GET /auth/revocations`, issue 18) and keeps the revoked
 * sessions in memory until their `until` (by then every access token of that session has
 * expired). First the backlog as pages until a short one (the caught-up cursor), then the live
 * Server-Sent Events stream from that cursor; a dropped stream reconnects with `Last-Event-ID`
 * and exponential backoff, so nothing revoked meanwhile is missed. A stream that stays silent
 * past three of Bastion's 15 s heartbeats counts as dropped.
 */

export interface RevocationFeedOptions {
  /** `revocation_feed_endpoint` of the discovery document, or where the service reaches it. */
  readonly url: string;
  /** One of Bastion's `SERVICE_TOKENS`. */
  readonly serviceToken: string;
  readonly userAgent: string;
  /** First reconnect delay; doubles per failure up to `maxBackoffMs`, with jitter. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** No byte (event or heartbeat) for this long: the stream is dead, reconnect. */
  readonly idleTimeoutMs?: number;
  readonly onError?: (err: unknown) => void;
  readonly now?: () => number;
}

interface FeedPage {
  readonly items: readonly { sessionId?: string; userId?: string; until: string }[];
  readonly cursor: string;
}

const PAGE_LIMIT = 500;
const SWEEP_MS = 60_000;

class FeedHttpError extends Error {
  constructor(readonly status: number) {
    super(`revocation feed answered ${status}`);
    this.name = 'FeedHttpError';
  }
}

export class RevocationFeed {
  /** sessionId → until (epoch ms). */
  private readonly revoked = new Map<string, number>();
  private cursor: string | undefined;
  private connected = false;
  private caughtUp = false;
  private disconnectedSince: number;
  private closed = false;
  private abort: AbortController | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;
  /** Resolves once the backlog has been read (the set is complete up to that moment). */
  readonly ready: Promise<void>;

  constructor(private readonly options: RevocationFeedOptions) {
    this.now = options.now ?? Date.now;
    this.disconnectedSince = this.now();
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    let markReady: () => void = () => {};
    this.ready = new Promise((resolve) => {
      markReady = resolve;
    });
    void this.run(markReady);
  }

  /** True while the session is revoked and a token of it may still be unexpired. */
  isRevoked(sessionId: string): boolean {
    const until = this.revoked.get(sessionId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.revoked.delete(sessionId);
    return false;
  }

  /** The backlog has been read once. */
  get isReady(): boolean {
    return this.caughtUp;
  }

  /** Milliseconds since the feed was last known complete (0 while the stream is open). */
  staleForMs(): number {
    return this.connected ? 0 : this.now() - this.disconnectedSince;
  }

  get size(): number {
    return this.revoked.size;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    this.abort?.abort();
  }

  private sweep(): void {
    const now = this.now();
    for (const [sessionId, until] of this.revoked) if (until <= now) this.revoked.delete(sessionId);
  }

  private add(page: FeedPage): void {
    for (const item of page.items) {
      if (!item.sessionId) continue;
      const until = Date.parse(item.until);
      if (!Number.isFinite(until)) continue;
      const known = this.revoked.get(item.sessionId) ?? 0;
      if (until > known) this.revoked.set(item.sessionId, until);
    }
    this.cursor = page.cursor;
  }

  private headers(accept: string): Record<string, string> {
    return {
      accept,
      authorization: `Bearer ${this.options.serviceToken}`,
      'user-agent': this.options.userAgent,
    };
  }

  /** Pages through the backlog until a page is not full. */
  private async catchUp(signal: AbortSignal): Promise<void> {
    for (;;) {
      const url = new URL(this.options.url);
      url.searchParams.set('limit', String(PAGE_LIMIT));
      if (this.cursor) url.searchParams.set('since', this.cursor);
      const res = await fetch(url, { headers: this.headers('application/json'), signal });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new FeedHttpError(res.status);
      }
      const page = (await res.json()) as FeedPage;
      this.add(page);
      if (page.items.length < PAGE_LIMIT) return;
    }
  }

  private async run(markReady: () => void): Promise<void> {
    const min = this.options.minBackoffMs ?? 250;
    const max = this.options.maxBackoffMs ?? 30_000;
    let failures = 0;
    while (!this.closed) {
      this.abort = new AbortController();
      try {
        if (!this.caughtUp) {
          await this.catchUp(this.abort.signal);
          this.caughtUp = true;
          markReady();
        }
        await this.stream(this.abort.signal, () => {
          failures = 0;
        });
      } catch (err) {
        if (this.closed) break;
        this.options.onError?.(err);
      } finally {
        this.markDisconnected();
      }
      if (this.closed) break;
      failures += 1;
      const delay = Math.min(max, min * 2 ** Math.min(failures - 1, 16));
      await sleep(delay / 2 + Math.random() * (delay / 2));
    }
  }

  private markDisconnected(): void {
    if (this.connected) this.disconnectedSince = this.now();
    this.connected = false;
  }

  /** One stream from the cursor; returns when it ends. */
  private async stream(signal: AbortSignal, onOpen: () => void): Promise<void> {
    const headers = this.headers('text/event-stream');
    if (this.cursor) headers['last-event-id'] = this.cursor;
    const res = await fetch(this.options.url, { headers, signal });
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      throw new FeedHttpError(res.status);
    }
    this.connected = true;
    onOpen();
    const idleMs = this.options.idleTimeoutMs ?? 45_000;
    const stale = () => setTimeout(() => this.abort?.abort(), idleMs).unref();
    let idle = stale();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        clearTimeout(idle);
        idle = stale();
        buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          this.dispatch(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
        }
      }
    } finally {
      clearTimeout(idle);
    }
  }

  /** One SSE block: `id:`, `event:`, `data:` lines; comments (heartbeats) only keep it alive. */
  private dispatch(block: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (event !== 'revocations' || data.length === 0) return;
    const page = JSON.parse(data.join('\n')) as FeedPage;
    this.add({ items: page.items, cursor: id ?? page.cursor });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
