/**
 * (C) Fastify 5 with only what every Bastion response must carry, `GET /health/live`: the floor
 * of issue 20's target 3 without Bastion. It is here to split the gap between bare Fastify and
 * Bastion into what the required features cost in any Fastify server and what is Bastion's own:
 * - one info log line per request through pino (to /dev/null, as Bastion's bench runs), with flat
 *   fields and the request id as its label;
 * - request ids from `randomUUID` (a client cannot choose them);
 * - the API security headers and `cache-control: no-store`, and CORS for one allowed origin;
 * - the cookie parser registered (every Bastion route may read the refresh or device cookie);
 * - Bastion's request, connection and keep-alive timeouts (REQUEST_TIMEOUT_MS' default).
 * What it leaves out is Bastion's own: the token gate's hook, the global rate limit, load
 * shedding, metrics, the 401/403 burst watch, the connection cap, the zod response serializer.
 * BENCH_EQUIPPED_WITHOUT (a comma list of log, reqid, headers, cors, cookie, timeouts) leaves
 * features out, so a run per feature prices each one (bench/README.md).
 */
import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import Fastify from 'fastify';
import pino from 'pino';
import { logDestination } from '../../src/platform/logger.js';
import { announce, onStop } from '../lib/server.js';

const without = new Set((process.env.BENCH_EQUIPPED_WITHOUT ?? '').split(',').filter(Boolean));
const has = (feature: string) => !without.has(feature);
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS = {
  'content-security-policy':
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

const app = Fastify({
  // Bastion's own destination (buffered writes), so the log line costs the same to write.
  ...(has('log') ? { loggerInstance: pino({ level: 'info' }, logDestination('/dev/null')) } : {}),
  ...(has('reqid') ? { genReqId: () => randomUUID(), requestIdHeader: false } : {}),
  requestIdLogLabel: 'requestId',
  disableRequestLogging: true,
  ...(has('timeouts')
    ? {
        requestTimeout: REQUEST_TIMEOUT_MS,
        connectionTimeout: REQUEST_TIMEOUT_MS,
        keepAliveTimeout: 5000,
      }
    : {}),
});
onStop(() => app.close());
if (has('cors')) {
  await app.register(cors, { origin: ['https://app.bench.invalid'], credentials: true });
}
if (has('cookie')) await app.register(cookie);
if (has('headers')) {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(HEADERS);
    done();
  });
}
if (has('log')) {
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        url: request.url,
        ip: request.ip,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed',
    );
    done();
  });
}
app.get('/health/live', async () => ({ status: 'ok' }));
await app.listen({ host: '127.0.0.1', port: 0 });
announce((app.server.address() as { port: number }).port);
