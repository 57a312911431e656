/**
 * `GET /auth/revocations?since=<cursor>` (issue 18): revoked sessions for relying services, so a
 * logout on Bastion stops a token at another service without a call per request. Authenticated
 * by a `SERVICE_TOKENS` bearer (never a user's token: the route is public to the access policy
 * and checks its own credential). Answers a page `{items, cursor}`; with
 * `Accept: text/event-stream` a live stream: the backlog after the cursor, then every revocation
 * of any instance (announced on the `Revocations` channel of the shared state), heartbeat
 * comments, ended when the server closes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/database.js';
import { platformError } from '../../platform/errors.js';
import type { SharedState, Unsubscribe } from '../../platform/state/shared-state.js';
import { REVOCATIONS_CHANNEL } from '../sessions/revocations.js';
import { CURSOR_PATTERN, decodeCursor, type FeedPosition, revocationsSince } from './feed.store.js';
import { serviceTokenCheck } from './service-tokens.js';

/** Items per page (and per stream event). */
export const FEED_PAGE_MAX = 500;
/** Live streams one service token may hold open on one instance. */
export const STREAMS_PER_TOKEN = 4;
const HEARTBEAT_MS = 15_000;

export interface FeedDeps {
  readonly db: Db;
  readonly state: SharedState;
  readonly clock: Clock;
  readonly serviceTokens: readonly string[];
  /** How long a revocation matters: access-token life plus clock tolerance. */
  readonly windowMs: number;
}

const FeedQuery = z.strictObject({
  since: z
    .string()
    .regex(CURSOR_PATTERN, 'must be a cursor this feed answered')
    .optional()
    .describe(
      'The `cursor` of the previous page or event; absent: every revocation that still matters',
    ),
  limit: z.coerce.number().int().min(1).max(FEED_PAGE_MAX).default(100),
});

const FeedPage = z.object({
  items: z.array(
    z.object({
      sessionId: z.uuid().optional(),
      userId: z.uuid().optional(),
      until: z
        .string()
        .describe('Until when the revocation matters (every token it covers has expired by then)'),
    }),
  ),
  cursor: z.string(),
});

function wantsStream(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.toLowerCase().includes('text/event-stream');
}

/** One open event stream: it re-reads the feed after its cursor whenever a revocation is told. */
class FeedStream {
  private busy = false;
  private again = false;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly deps: FeedDeps,
    private readonly reply: FastifyReply,
    private position: FeedPosition | undefined,
    private readonly onEnd: () => void,
  ) {
    this.heartbeat = setInterval(() => this.write(': heartbeat\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
    reply.raw.on('close', () => this.end());
  }

  /** Sends what is new since the cursor; concurrent wakes coalesce into one more read. */
  wake(): void {
    if (this.closed) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void this.drain().finally(() => {
      this.busy = false;
    });
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        const page = await revocationsSince(
          this.deps.db,
          this.position,
          this.deps.clock.now(),
          this.deps.windowMs,
          FEED_PAGE_MAX,
        );
        this.position = decodeCursor(page.cursor);
        if (page.items.length > 0) {
          this.write(`id: ${page.cursor}\nevent: revocations\ndata: ${JSON.stringify(page)}\n\n`);
        }
        if (page.items.length === FEED_PAGE_MAX) this.again = true;
      } while (this.again && !this.closed);
    } catch (err) {
      this.reply.log.error({ err }, 'revocation feed read failed');
      this.end();
    }
  }

  private write(chunk: string): void {
    if (!this.closed) this.reply.raw.write(chunk);
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.reply.raw.end();
    this.onEnd();
  }
}

export function revocationFeedRoutes(deps: FeedDeps) {
  const check = serviceTokenCheck(deps.serviceTokens);
  const streams = new Set<FeedStream>();
  const open = new Map<number, number>();
  let unsubscribe: Unsubscribe | undefined;

  return async (app: FastifyInstance) => {
    if (deps.serviceTokens.length > 0) {
      // Any instance's revocation reaches every stream of this one; the database says what.
      app.addHook('onReady', async () => {
        unsubscribe = await deps.state.subscribe(REVOCATIONS_CHANNEL, () => {
          for (const stream of streams) stream.wake();
        });
      });
      app.addHook('preClose', async () => {
        for (const stream of [...streams]) stream.end();
        await unsubscribe?.();
      });
    }

    app.withTypeProvider<ZodTypeProvider>().get(
      '/auth/revocations',
      {
        // Public to the user-token gate: the handler demands a service token instead.
        config: { access: 'public' },
        schema: {
          tags: ['service'],
          description:
            'Revoked sessions for relying services, oldest first, after `since`. Requires ' +
            '`Authorization: Bearer <one of SERVICE_TOKENS>` (anything else, including a user access ' +
            'token, and every request while SERVICE_TOKENS is unset: 401). A service drops access ' +
            'tokens whose `sid` is listed until `until`. With `Accept: text/event-stream` the same ' +
            'as Server-Sent Events: `event: revocations` with `{items, cursor}` (and `id:` the cursor), ' +
            `heartbeat comments, at most ${STREAMS_PER_TOKEN} open streams per token per instance (429 beyond).`,
          querystring: FeedQuery,
          response: { 200: FeedPage },
        },
      },
      async (request, reply) => {
        const token = check(request);
        // A reconnecting EventSource sends the last event's id instead of a query.
        const lastEventId = request.headers['last-event-id'];
        const cursor =
          request.query.since ??
          (typeof lastEventId === 'string' && CURSOR_PATTERN.test(lastEventId)
            ? lastEventId
            : undefined);
        const since = cursor ? decodeCursor(cursor) : undefined;
        if (!wantsStream(request)) {
          return revocationsSince(
            deps.db,
            since,
            deps.clock.now(),
            deps.windowMs,
            request.query.limit,
          );
        }
        const count = open.get(token) ?? 0;
        if (count >= STREAMS_PER_TOKEN) throw platformError('rate_limited');
        open.set(token, count + 1);
        reply.hijack();
        // The stream outlives REQUEST_TIMEOUT_MS by design; heartbeats show it is alive.
        request.raw.socket.setTimeout(0);
        // Hijacked: the headers the hooks set so far (security, CORS) are copied by hand.
        for (const [name, value] of Object.entries(reply.getHeaders())) {
          if (value !== undefined) reply.raw.setHeader(name, value);
        }
        reply.raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
        });
        reply.raw.write(': revocations\n\n');
        const stream = new FeedStream(deps, reply, since, () => {
          streams.delete(stream);
          const left = (open.get(token) ?? 1) - 1;
          if (left > 0) open.set(token, left);
          else open.delete(token);
        });
        streams.add(stream);
        stream.wake();
      },
    );
  };
}
