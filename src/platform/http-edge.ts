/**
 * The HTTP edge: what happens before a request reaches a route, or instead (issue 14).
 *
 * - Timeouts. A request's headers and body must arrive within `REQUEST_TIMEOUT_MS`; Node checks
 *   every `connectionsCheckingInterval` (30 s by default, so a trickled body lived up to 60 s past
 *   its deadline), here every second. Idle keep-alive connections close after a few seconds.
 * - A cap on open connections per client address (IPv6 per /64). Trusted proxies are not capped:
 *   every client behind them shares their address.
 * - The answers no hook reaches: a URL the router refuses (bad percent-encoding, an over-long
 *   parameter: Fastify's `frameworkErrors`) and what Node's parser refuses before a request exists
 *   (bad framing, invalid header bytes, timeouts: `clientError`). They are problem+json with the
 *   API security headers like every other answer, and counted against the global per-IP limit.
 */
import { randomUUID } from 'node:crypto';
import {
  type ServerOptions as HttpServerOptions,
  type IncomingMessage,
  STATUS_CODES,
} from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import proxyAddr from '@fastify/proxy-addr';
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import type { Config } from '../config.js';
import type { Clock } from './clock.js';
import { AppError, platformError, problemBody, sendProblem } from './errors.js';
import { pathOnly } from './logger.js';
import { clientKey } from './rate-limit/client-key.js';
import { type Limiter, rateLimited } from './rate-limit/limiters.js';
import { apiSecurityHeaders } from './security-headers.js';

/** Idle keep-alive connections are closed after this. */
export const KEEP_ALIVE_TIMEOUT_MS = 5000;
/** How often Node looks for requests past their deadline. */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1000;
/** Headers are small: a client still sending them after this is holding the connection. */
const HEADERS_TIMEOUT_MAX_MS = 10_000;
const REFUSALS_LOG_INTERVAL_MS = 60_000;
const LOGGED_URL_MAX = 256;

type TrustFn = (address: string, hop: number) => boolean;

export interface HttpEdge {
  /** Fastify options: timeouts, Node's server options, the edge's error handlers. */
  readonly serverOptions: {
    readonly requestTimeout: number;
    readonly connectionTimeout: number;
    readonly keepAliveTimeout: number;
    readonly http: HttpServerOptions;
    readonly https: HttpsServerOptions | null;
    readonly frameworkErrors: (
      error: FastifyError,
      request: FastifyRequest,
      reply: FastifyReply,
    ) => void;
    readonly clientErrorHandler: (error: Error, socket: Duplex) => void;
  };
  /** Caps connections per client address on the app's server; call once, before listening. */
  capConnections(app: FastifyInstance): void;
  /** From now on, edge answers are counted against `limiter` (the global per-IP limit). */
  countWith(limiter: Limiter): void;
}

export function createHttpEdge(config: Config, clock: Clock): HttpEdge {
  const trusted: TrustFn =
    config.trustProxy.length > 0 ? proxyAddr.compile([...config.trustProxy]) : () => false;
  let limiter: Limiter | undefined;

  /** The client's address and scheme, the way Fastify's trustProxy reads them for a request. */
  const clientOf = (raw: IncomingMessage): { ip: string | undefined; https: boolean } => {
    const socket = raw.socket as TLSSocket | undefined;
    const peer = socket?.remoteAddress;
    const viaProxy = peer !== undefined && trusted(peer, 0);
    const proto = viaProxy
      ? String(raw.headers['x-forwarded-proto'] ?? '')
          .split(',')
          .pop()
      : '';
    return {
      ip: viaProxy ? proxyAddr(raw, trusted) : peer,
      https: socket?.encrypted === true || proto?.trim() === 'https',
    };
  };

  /** `answer`, or 429 when the client's budget is spent (the attempt is counted either way). */
  const counted = async (ip: string | undefined, answer: AppError): Promise<AppError> => {
    if (!limiter || !ip) return answer;
    try {
      await limiter.consume(clientKey(ip));
      return answer;
    } catch (err) {
      return err instanceof AppError ? err : answer;
    }
  };

  /**
   * For a request in flight, which its route's hooks count: `answer`, or 429 when the count is
   * past the budget. (With Redis the route's count may still be on its way: exactly at the
   * budget's edge such a request can get its 400 instead of the 429.)
   */
  const alreadyCounted = async (ip: string | undefined, answer: AppError): Promise<AppError> => {
    if (!limiter || !ip) return answer;
    try {
      const ms = await limiter.blockedFor(clientKey(ip));
      return ms > 0 ? rateLimited(limiter.spec.points, ms) : answer;
    } catch {
      return answer;
    }
  };

  const frameworkErrors = (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const client = clientOf(request.raw);
    const problem =
      (error.statusCode ?? 500) >= 500
        ? platformError('internal_error')
        : platformError('bad_request');
    void counted(client.ip, problem).then((answer) => {
      request.log.info(
        {
          method: request.method,
          url: pathOnly(request.url).slice(0, LOGGED_URL_MAX),
          ip: client.ip,
          status: answer.status,
          problem: answer.code,
          reason: error.code,
        },
        'request refused by the router',
      );
      reply.headers(apiSecurityHeaders(client.https));
      sendProblem(request, reply, answer);
    });
  };

  const answered = new WeakSet<Duplex>();
  function clientErrorHandler(this: FastifyInstance, error: Error, socket: Duplex): void {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
    answered.add(socket);
    const tcp = socket as net.Socket & Partial<TLSSocket>;
    const peer = tcp.remoteAddress;
    const answer = (problem: AppError) => {
      const requestId = randomUUID();
      // The error's message and raw packet may hold the request's bytes (cookies): code only.
      this.log.info(
        { requestId, ip: peer, status: problem.status, problem: problem.code, reason: code },
        'request refused by the parser',
      );
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      socket.end(rawProblem(problem, requestId, tcp.encrypted === true), () => socket.destroy());
    };
    const problem =
      code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? platformError('request_timeout')
        : code === 'HPE_HEADER_OVERFLOW'
          ? platformError('headers_too_large')
          : platformError('bad_request');

    // A request in flight (its body failed or timed out) has a response object on the socket.
    const inFlight = responseOn(socket);
    if (inFlight?.headersSent) {
      // A response already under way cannot be followed by another: only closing is left.
      socket.end();
      return;
    }
    // Behind a trusted proxy the client is unknown here: the proxy is not counted for it.
    const ip = peer !== undefined && !trusted(peer, 0) ? peer : undefined;
    void (inFlight ? alreadyCounted(ip, problem) : counted(ip, problem)).then((decided) => {
      const now = responseOn(socket);
      // The route answered meanwhile (its hooks refused the request): let that answer be the last.
      if (inFlight && (now !== inFlight || now.headersSent)) socket.end();
      else answer(decided);
    });
  }

  return {
    serverOptions: {
      requestTimeout: config.requestTimeoutMs,
      connectionTimeout: config.requestTimeoutMs,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      http: nodeServerOptions(config.requestTimeoutMs),
      // https.createServer takes the http server options too (`http` is ignored with `https`).
      https: config.tls
        ? {
            cert: config.tls.cert,
            key: config.tls.key,
            ...nodeServerOptions(config.requestTimeoutMs),
          }
        : null,
      frameworkErrors,
      clientErrorHandler,
    },
    capConnections(app) {
      capPerClient(app.server, config.maxConnectionsPerIp, trusted, app.log, clock);
    },
    countWith(global) {
      limiter = global;
    },
  };
}

interface ResponseOnSocket {
  readonly headersSent?: boolean;
}

/** The response Node has attached to the socket while a request is in flight (Node's own check). */
function responseOn(socket: Duplex): ResponseOnSocket | undefined {
  return (socket as { _httpMessage?: ResponseOnSocket | null })._httpMessage ?? undefined;
}

function nodeServerOptions(requestTimeoutMs: number): HttpServerOptions {
  return {
    connectionsCheckingInterval: Math.min(CONNECTIONS_CHECKING_INTERVAL_MS, requestTimeoutMs),
    headersTimeout: Math.min(HEADERS_TIMEOUT_MAX_MS, requestTimeoutMs),
    requestTimeout: requestTimeoutMs,
  };
}

/** A complete HTTP/1.1 response for a raw socket: the problem, the API headers, then close. */
function rawProblem(err: AppError, requestId: string, https: boolean): string {
  const body = JSON.stringify(problemBody(err, requestId));
  const headers: Record<string, string> = {
    ...apiSecurityHeaders(https),
    ...err.headers,
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

function capPerClient(
  server: net.Server,
  max: number,
  trusted: TrustFn,
  log: FastifyBaseLogger,
  clock: Clock,
): void {
  const open = new Map<string, number>();
  let refused = 0;
  let lastLog = Number.NEGATIVE_INFINITY;
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || trusted(address, 0)) return;
    const key = clientKey(address);
    const count = open.get(key) ?? 0;
    if (count >= max) {
      socket.destroy();
      refused += 1;
      // One line a minute at most: a flood of connections must not become a flood of logs.
      const now = clock.now();
      if (now - lastLog >= REFUSALS_LOG_INTERVAL_MS) {
        log.warn(
          { event: 'connections_capped', ip: address, max, refused },
          'connections refused: too many open from one address',
        );
        lastLog = now;
        refused = 0;
      }
      return;
    }
    open.set(key, count + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
