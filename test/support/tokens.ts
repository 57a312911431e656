/**
 * Helpers for the token and session attack tests: call the token-gated and cookie-authenticated
 * routes, take a JWT apart and put a forged one together.
 */
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.js';
import { bearer, cookieHeader, cookieValue } from './auth.js';

/** For `beforeAll`: opening and migrating an embedded database is slow on a busy machine. */
export const SETUP_TIMEOUT_MS = 180_000;

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** `GET /auth/me` with a bearer token. */
export function me(app: App, accessToken: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: '/auth/me', headers: bearer(accessToken) });
}

/** `POST /auth/refresh` as a browser sends it: the cookies, and the CSRF header when given. */
export function refresh(
  app: App,
  cookie: string | undefined,
  csrfToken?: string,
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {};
  if (cookie !== undefined) headers.cookie = cookie;
  if (csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  return app.inject({ method: 'POST', url: '/auth/refresh', headers });
}

/** What a successful refresh hands the browser: the rotated cookies and a new access token. */
export function rotated(res: LightMyRequestResponse, refreshCookie = 'bastion_refresh') {
  if (res.statusCode !== 200) throw new Error(`refresh failed: ${res.statusCode} ${res.body}`);
  const body = res.json() as { accessToken: string; csrfToken: string };
  return {
    accessToken: body.accessToken,
    csrfToken: body.csrfToken,
    cookie: cookieHeader(res.headers['set-cookie']),
    refreshToken: cookieValue(res.headers['set-cookie'], refreshCookie),
  };
}

/** The problem code of an error response. */
export function codeOf(res: LightMyRequestResponse): string | undefined {
  return (res.json() as { code?: string }).code;
}

/** base64url(JSON) of a JOSE header or JWT payload. */
export function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Splits a compact JWT into its decoded header and payload and its raw signature segment. */
export function splitJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signature: string;
} {
  const [h, p, s] = token.split('.');
  if (h === undefined || p === undefined || s === undefined) throw new Error('not a compact JWT');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
    signature: s,
  };
}
