/**
 * Security headers computed once at start-up by helmet (the engine behind @fastify/helmet) and
 * copied onto every response. Nothing in them varies per request except HSTS, which is only
 * sent over HTTPS; recomputing them per request cost more than half of the server's throughput.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'frame-ancestors': ["'none'"],
  'form-action': ["'self'"],
};

type HeaderSet = Readonly<Record<string, string>>;

/** Runs helmet against a recording response and returns the headers it would set. */
function captureHelmetHeaders(hsts: boolean): HeaderSet {
  const headers: Record<string, string> = {};
  const res = {
    setHeader(name: string, value: string | number) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  } as unknown as ServerResponse;
  const middleware = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    strictTransportSecurity: hsts ? { maxAge: 31536000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
  });
  let done = false;
  middleware({} as IncomingMessage, res, () => {
    done = true;
  });
  if (!done) throw new TypeError('helmet did not complete synchronously');
  return Object.freeze(headers);
}

/** Adds the precomputed headers to every response (HSTS only when the request came over HTTPS). */
export function installSecurityHeaders(app: FastifyInstance): void {
  // Auth and user data must never be cached; a route serving public assets overrides this.
  const noStore = { 'cache-control': 'no-store' };
  const plain = Object.freeze({ ...captureHelmetHeaders(false), ...noStore });
  const secure = Object.freeze({ ...captureHelmetHeaders(true), ...noStore });
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.protocol === 'https' ? secure : plain);
    done();
  });
}
