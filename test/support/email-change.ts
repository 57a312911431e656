/** Helpers for the email-change tests (issue 19): the routes, and the links the mails carry. */
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.js';
import type { Db } from '../../src/platform/db/database.js';
import { linkPaths, MAIL_TIMEOUT_MS } from './accounts.js';
import { bearer } from './auth.js';
import { extractLink, type ReceivedMail, type TestSmtp } from './smtp.js';

export const CONFIRM_PATH = '/confirm-email';
export const REVERT_PATH = '/revert-email';
export const RESET_PATH = '/reset-password';
export const TAKEN_SUBJECT = 'Someone tried to use your address';

export function changeEmail(
  app: App,
  accessToken: string,
  body: Record<string, unknown>,
  ip?: string,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/auth/email/change',
    payload: body,
    headers: bearer(accessToken),
    ...(ip ? { remoteAddress: ip } : {}),
  });
}

export function confirmEmail(app: App, token: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/auth/email/confirm', payload: { token }, headers });
}

export function revertEmail(app: App, token: string) {
  return app.inject({ method: 'POST', url: '/auth/email/revert', payload: { token } });
}

/** The next mail to `to` carrying a link to `path`. */
export function waitForLinkMail(smtp: TestSmtp, to: string, path: string): Promise<ReceivedMail> {
  return smtp.waitForMail(to, (m) => linkPaths(m).includes(path), MAIL_TIMEOUT_MS);
}

/** The token of the `path` link in the next such mail to `to`. */
export async function mailedToken(smtp: TestSmtp, to: string, path: string): Promise<string> {
  const mail = await waitForLinkMail(smtp, to, path);
  const token = extractLink(mail, path).searchParams.get('token');
  if (!token) throw new Error(`no token in the ${path} link`);
  return token;
}

/** Mails to `to` (case-insensitive) received so far. */
export function mailsTo(smtp: TestSmtp, to: string): ReceivedMail[] {
  const address = to.toLowerCase();
  return smtp.messages.filter((m) => m.to.some((r) => r.toLowerCase() === address));
}

/** The audit actions recorded about a user, oldest first. */
export async function auditActions(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('audit_log')
    .select('action')
    .where('target_id', '=', userId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => r.action);
}
