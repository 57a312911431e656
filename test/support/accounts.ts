/**
 * Helpers for the account tests: an app wired to a real SMTP server with the abuse limits out of
 * the way (they have their own tests), mails told apart by the link they carry, and direct
 * database access for what a black-box test cannot see (stored hashes, tokens, locks).
 */
import type { LightMyRequestResponse } from 'fastify';
import { uuidv7 } from 'uuidv7';
import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import type { Env } from '../../src/config.js';
import type { Db } from '../../src/platform/db/database.js';
import type { User } from '../../src/platform/db/schema.js';
import { extractLink, type ReceivedMail, type TestSmtp } from './smtp.js';

/** SMTP for mails; every rate limit raised so these tests exercise accounts, not throttling. */
export function accountTestEnv(smtp: TestSmtp): Env {
  return {
    SMTP_URL: smtp.url,
    RATE_LIMIT_LOGIN_IP_FAILURES: '10000000',
    RATE_LIMIT_LOGIN_ACCOUNT_FREE_FAILURES: '1000',
    RATE_LIMIT_REGISTER_PER_HOUR: '10000000',
    RATE_LIMIT_FORGOT_PER_HOUR: '10000000',
    RATE_LIMIT_FORGOT_MAILS_PER_ACCOUNT_HOUR: '1000',
    RATE_LIMIT_REGISTER_MAILS_PER_ADDRESS_HOUR: '1000',
    RATE_LIMIT_TOKEN_PER_HOUR: '10000000',
    RATE_LIMIT_REFRESH_PER_MINUTE: '10000000',
  };
}

/** Building an app (PGlite, migrations, dictionaries) takes tens of seconds on a loaded machine. */
export const BUILD_TIMEOUT_MS = 180_000;

/** Generous: the background mail send competes with argon2 on a loaded two-core machine. */
export const MAIL_TIMEOUT_MS = 15_000;

/**
 * What each account mail links to; the link, not the wording, says which mail it is. The
 * security notices all carry the one-time "this was not me" link, so their subject tells them
 * apart.
 */
export const MAIL_LINK = {
  verification: '/verify-email',
  reset: '/reset-password',
  passwordChanged: '/secure-account',
  newDevice: '/secure-account',
  sessionTheft: '/secure-account',
  mfaChanged: '/secure-account',
  alreadyRegistered: '/login',
} as const;
export type MailKind = keyof typeof MAIL_LINK;

const NOTICE_SUBJECT: Partial<Record<MailKind, string>> = {
  passwordChanged: 'Your password was changed',
  newDevice: 'New sign-in to your account',
  sessionTheft: 'A session of your account was stopped',
  mfaChanged: 'Your sign-in security changed',
};

export function linkPaths(mail: ReceivedMail): string[] {
  return (mail.text.match(/https?:\/\/[^\s<>"']+/g) ?? []).map(
    (u) => new URL(u.replace(/[.,;:!?)\]]+$/, '')).pathname,
  );
}

export function isMail(kind: MailKind) {
  const subject = NOTICE_SUBJECT[kind];
  return (mail: ReceivedMail) =>
    linkPaths(mail).includes(MAIL_LINK[kind]) &&
    (subject === undefined || mail.subject === subject);
}

export function waitForAccountMail(
  smtp: TestSmtp,
  to: string,
  kind: MailKind,
): Promise<ReceivedMail> {
  return smtp.waitForMail(to, isMail(kind), MAIL_TIMEOUT_MS);
}

/** The one-time token of a verification or reset mail, or of a notice's "this was not me" link. */
export function linkToken(
  mail: ReceivedMail,
  kind: Exclude<MailKind, 'alreadyRegistered'>,
): string {
  const token = extractLink(mail, MAIL_LINK[kind]).searchParams.get('token');
  if (!token) throw new Error(`no token in the ${kind} link`);
  return token;
}

/** Mails already received for an address (case-insensitive), of one kind. */
export function mailsTo(smtp: TestSmtp, to: string, kind: MailKind): ReceivedMail[] {
  const address = to.toLowerCase();
  return smtp.messages.filter(
    (m) => m.to.some((r) => r.toLowerCase() === address) && isMail(kind)(m),
  );
}

export function post(
  app: App,
  url: string,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, payload: payload as object, headers });
}

/** Asserts a problem+json answer with this status and code; returns the parsed body. */
export function expectProblem(
  res: LightMyRequestResponse,
  status: number,
  code: string,
): Record<string, unknown> {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  return body;
}

/** Asserts a 400 weak_password naming `rule`, with at least one suggestion. */
export function expectWeakPassword(res: LightMyRequestResponse, rule: string): void {
  const body = expectProblem(res, 400, 'weak_password');
  expect(body.rule).toBe(rule);
  expect(Array.isArray(body.suggestions)).toBe(true);
  const suggestions = body.suggestions as unknown[];
  expect(suggestions.length).toBeGreaterThan(0);
  for (const s of suggestions) expect(typeof s === 'string' && s.length > 0).toBe(true);
}

export function userByEmail(db: Db, email: string): Promise<User | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('email_key', '=', email.trim().normalize('NFC').toLowerCase())
    .executeTakeFirst();
}

export async function storedHash(db: Db, email: string): Promise<string> {
  const user = await userByEmail(db, email);
  if (!user?.password_hash) throw new Error(`no stored hash for ${email}`);
  return user.password_hash;
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Inserts an account directly, as an import from another system would (verified by default). */
export async function insertUser(
  db: Db,
  fields: {
    email: string;
    passwordHash: string;
    displayName?: string;
    verified?: boolean;
    /** MFA flagged on without a secret: enough for a login to be sent to the second step. */
    mfaEnabled?: boolean;
  },
): Promise<User> {
  const now = new Date();
  const email = fields.email.trim().normalize('NFC');
  return db
    .insertInto('users')
    .values({
      id: uuidv7(),
      email,
      email_key: email.toLowerCase(),
      display_name: fields.displayName ?? 'Imported User',
      password_hash: fields.passwordHash,
      roles: [],
      email_verified_at: fields.verified === false ? null : now,
      avatar_url: null,
      created_at: now,
      updated_at: now,
      ...(fields.mfaEnabled ? { mfa_enabled: true } : {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}
