/**
 * MFA flows for tests: enrol TOTP through the API, start a login that stops at the second factor,
 * and finish it, carrying the challenge cookie the login set as a client keeps it (issue 8).
 * Codes come from `codeAt(secret, clock.now())` on the manual clock the app was built with, so
 * they are deterministic; `freshCode` moves the clock one 30 s step first, because each step is
 * accepted once per account.
 */
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.js';
import { codeAt } from '../../src/auth/mfa/totp.js';
import { bearer, cookieHeader, type LoggedIn } from './auth.js';

export const STEP_MS = 30_000;
export const MINUTE_MS = 60_000;
/** Building an app (PGlite's first start, migrations) can take long on a loaded machine. */
export const SETUP_TIMEOUT_MS = 180_000;

export interface MovableClock {
  now(): number;
  advance(ms: number): void;
}

export interface Enrolled {
  readonly secret: string;
  readonly recoveryCodes: string[];
}

/** Sets up and confirms TOTP for the holder of `accessToken`, with the current step's code. */
export async function enrolTotp(
  app: App,
  accessToken: string,
  clock: MovableClock,
): Promise<Enrolled> {
  const setup = await app.inject({
    method: 'POST',
    url: '/auth/mfa/totp/setup',
    headers: bearer(accessToken),
  });
  if (setup.statusCode !== 200) throw new Error(`setup failed: ${setup.statusCode} ${setup.body}`);
  const { secret } = setup.json() as { secret: string };
  const confirm = await app.inject({
    method: 'POST',
    url: '/auth/mfa/totp/confirm',
    headers: bearer(accessToken),
    payload: { code: codeAt(secret, clock.now()) },
  });
  if (confirm.statusCode !== 200)
    throw new Error(`confirm failed: ${confirm.statusCode} ${confirm.body}`);
  return { secret, recoveryCodes: (confirm.json() as { recoveryCodes: string[] }).recoveryCodes };
}

/** Moves the clock one step and returns that step's code (never used before on this clock). */
export function freshCode(secret: string, clock: MovableClock): string {
  clock.advance(STEP_MS);
  return codeAt(secret, clock.now());
}

/** A 6-digit code that matches no step in the ±1 window around `nowMs`. */
export function wrongCode(secret: string, nowMs: number): string {
  const valid = new Set([-1, 0, 1].map((d) => codeAt(secret, nowMs + d * STEP_MS)));
  for (const candidate of ['000000', '111111', '222222', '333333']) {
    if (!valid.has(candidate)) return candidate;
  }
  throw new Error('unreachable');
}

/** A login stopped at the second factor: its mfaToken and the challenge cookie it set. */
export interface MfaChallenge {
  readonly mfaToken: string;
  /** The `Cookie` header value the client sends back to /auth/login/mfa ('' for none). */
  readonly cookie: string;
}

/** Posts the password; expects 401 `mfa_required` and returns the challenge. */
export async function startMfaLogin(
  app: App,
  email: string,
  password: string,
): Promise<MfaChallenge> {
  const res = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password },
  });
  const body = res.json() as { code?: string; mfaToken?: string };
  if (res.statusCode !== 401 || body.code !== 'mfa_required' || !body.mfaToken) {
    throw new Error(`expected mfa_required: ${res.statusCode} ${res.body}`);
  }
  return { mfaToken: body.mfaToken, cookie: cookieHeader(res.headers['set-cookie']) };
}

export function postMfaCode(
  app: App,
  challenge: MfaChallenge,
  code: string,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/auth/login/mfa',
    payload: { mfaToken: challenge.mfaToken, code },
    headers: challenge.cookie ? { cookie: challenge.cookie } : {},
  });
}

/** A full login through the second factor; throws unless it answers 200. */
export async function loginWithMfa(
  app: App,
  email: string,
  password: string,
  code: string,
): Promise<LoggedIn> {
  const res = await postMfaCode(app, await startMfaLogin(app, email, password), code);
  if (res.statusCode !== 200) throw new Error(`MFA login failed: ${res.statusCode} ${res.body}`);
  const body = res.json() as { accessToken: string; csrfToken: string; user: { id: string } };
  return {
    email,
    password,
    userId: body.user.id,
    accessToken: body.accessToken,
    csrfToken: body.csrfToken,
    cookie: cookieHeader(res.headers['set-cookie']),
  };
}
