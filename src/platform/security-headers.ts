/**
 * Security headers, computed once at start-up and copied onto every response (recomputing them
 * per request cost more than half of the server's throughput). Nothing in them varies per
 * request except HSTS, which is only sent over HTTPS.
 *
 * Two sets. API responses (JSON, problem+json, JWKS, metrics: everything by default) get the
 * OWASP REST set with a CSP that allows nothing (SECURITY-CHECKLIST WEB-03): a JSON body is
 * never a document, so helmet's document-only headers (COOP, Origin-Agent-Cluster, X-DNS-
 * Prefetch-Control, X-Download-Options, ...) only cost bytes on every response. Routes that
 * serve a page to a browser (the docs viewer, later the hosted pages) declare `config.page`
 * and get helmet's full set under the page CSP of DESIGN.md.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served to browsers as a document: helmet's page headers and CSP instead of the API set. */
    page?: boolean;
  }
}

/** The CSP of every non-page response: nothing may load, frame or be based on it. */
export const API_CONTENT_SECURITY_POLICY =
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

const HSTS = 'max-age=31536000; includeSubDomains';

const API_HEADERS = {
  'content-security-policy': API_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

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

// Auth and user data must never be cached; a route serving public assets overrides this.
const NO_STORE = { 'cache-control': 'no-store' };
const API = Object.freeze({ ...API_HEADERS, ...NO_STORE });
const API_SECURE = Object.freeze({ ...API, 'strict-transport-security': HSTS });

/**
 * The headers of every non-page response (HSTS only over HTTPS). Also written by the HTTP edge
 * (http-edge.ts) on the answers no hook reaches: refused URLs, parser errors, timeouts.
 */
export function apiSecurityHeaders(https: boolean): HeaderSet {
  return https ? API_SECURE : API;
}

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
  const page = Object.freeze({ ...captureHelmetHeaders(false), ...NO_STORE });
  const pageSecure = Object.freeze({ ...captureHelmetHeaders(true), ...NO_STORE });
  app.addHook('onRequest', (request, reply, done) => {
    const https = request.protocol === 'https';
    if (request.routeOptions.config?.page === true) reply.headers(https ? pageSecure : page);
    else reply.headers(https ? API_SECURE : API);
    done();
  });
}
