/** Account flows for tests: register through the API, verify through the mailed link, log in. */
import { randomBytes } from 'node:crypto';
import type { App } from '../../src/app.js';
import { extractLink, type TestSmtp } from './smtp.js';

export const STRONG_PASSWORD = 'velvet-otter-drifts-past-9-lanterns';

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}@example.test`;
}

export interface LoggedIn {
  readonly email: string;
  readonly password: string;
  readonly userId: string;
  readonly accessToken: string;
  readonly csrfToken: string;
  /** The `Cookie` header value a browser would send back (refresh + csrf cookies). */
  readonly cookie: string;
}

/** Reads the cookies a response set, as a `Cookie` request header. */
export function cookieHeader(setCookie: string | string[] | undefined): string {
  return [setCookie ?? []]
    .flat()
    .map((c) => c.split(';')[0])
    .filter((c): c is string => Boolean(c) && !c?.endsWith('='))
    .join('; ');
}

export function cookieValue(
  setCookie: string | string[] | undefined,
  name: string,
): string | undefined {
  for (const c of [setCookie ?? []].flat()) {
    const [pair] = c.split(';');
    const eq = pair?.indexOf('=') ?? -1;
    if (pair && eq > 0 && pair.slice(0, eq) === name) return pair.slice(eq + 1);
  }
  return undefined;
}

export async function registerAndVerify(
  app: App,
  smtp: TestSmtp,
  options: { email?: string; password?: string; displayName?: string } = {},
): Promise<{ email: string; password: string; userId: string }> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? STRONG_PASSWORD;
  const res = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password, displayName: options.displayName ?? 'Test User' },
  });
  if (res.statusCode !== 202) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  const mail = await smtp.waitForMail(email, (m) => m.subject.includes('Confirm'));
  const token = extractLink(mail, '/verify-email').searchParams.get('token');
  const verified = await app.inject({
    method: 'POST',
    url: '/auth/verify-email',
    payload: { token, password },
  });
  if (verified.statusCode !== 200)
    throw new Error(`verify failed: ${verified.statusCode} ${verified.body}`);
  return { email, password, userId: verified.json().user.id };
}

export async function login(
  app: App,
  email: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<LoggedIn & { userId: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password },
    headers,
  });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return {
    email,
    password,
    userId: body.user.id,
    accessToken: body.accessToken,
    csrfToken: body.csrfToken,
    cookie: cookieHeader(res.headers['set-cookie']),
  };
}

/** A verified, logged-in user in one call. */
export async function signUp(
  app: App,
  smtp: TestSmtp,
  options: { email?: string; password?: string } = {},
) {
  const { email, password } = await registerAndVerify(app, smtp, options);
  return login(app, email, password);
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
