/**
 * The template engine of the hosted pages: Eta, with auto-escaping on (its default, pinned here)
 * and only named templates kept in code (`eta/core` has no file loader: nothing is read from
 * disk at request time, and a compiled build needs no copied template files).
 */
import { Eta } from 'eta/core';
import type { FastifyReply } from 'fastify';
import { ACCOUNT } from './account/account.templates.js';
import { MFA_CODES, MFA_SETUP } from './account/mfa.templates.js';
import { ADMIN_AUDIT, ADMIN_DELETE, ADMIN_EVENTS, ADMIN_USERS } from './admin/admin.templates.js';
import { ACCEPT_INVITE } from './auth/accept-invite.templates.js';
import {
  FORGOT,
  LOGIN,
  LOGIN_MFA,
  MESSAGE,
  REGISTER,
  RESET,
  SECURE_ACCOUNT,
  VERIFY_EMAIL,
} from './auth/auth.templates.js';
import { CONFIRM_EMAIL, REVERT_EMAIL } from './auth/email-change.templates.js';
import { ERROR_PAGE, LAYOUT } from './layout.js';
import { STYLESHEET } from './stylesheet.js';

const TEMPLATES = {
  layout: LAYOUT,
  error: ERROR_PAGE,
  message: MESSAGE,
  login: LOGIN,
  'login-mfa': LOGIN_MFA,
  register: REGISTER,
  'verify-email': VERIFY_EMAIL,
  forgot: FORGOT,
  reset: RESET,
  'secure-account': SECURE_ACCOUNT,
  'confirm-email': CONFIRM_EMAIL,
  'revert-email': REVERT_EMAIL,
  'accept-invite': ACCEPT_INVITE,
  account: ACCOUNT,
  'mfa-setup': MFA_SETUP,
  'mfa-codes': MFA_CODES,
  'admin-users': ADMIN_USERS,
  'admin-delete': ADMIN_DELETE,
  'admin-audit': ADMIN_AUDIT,
  'admin-events': ADMIN_EVENTS,
} as const;

export type TemplateName = Exclude<keyof typeof TEMPLATES, 'layout'>;

/** A refusal shown on a page: the API's code and title, and what to do about it. */
export interface PageError {
  readonly code: string;
  readonly title: string;
  readonly hint?: string;
  readonly details?: readonly string[];
}

/** What every page's layout reads; each template reads its own fields besides. */
export interface PageData {
  readonly title: string;
  readonly error?: PageError;
  readonly notice?: string;
  readonly signedIn?: boolean;
  readonly wide?: boolean;
  readonly [field: string]: unknown;
}

export type Render = (name: TemplateName, data: PageData) => string;

/** Compiles every template once. */
export function createRenderer(appName = 'Bastion'): Render {
  const eta = new Eta({ autoEscape: true, cache: true, autoTrim: [false, 'nl'] });
  for (const [name, source] of Object.entries(TEMPLATES)) eta.loadTemplate(`@${name}`, source);
  return (name, data) => eta.render(`@${name}`, { stylesheet: STYLESHEET.href, appName, ...data });
}

/** Sends a rendered page (the page headers, no-store included, are already on the reply). */
export function sendPage(
  reply: FastifyReply,
  render: Render,
  name: TemplateName,
  data: PageData,
  status = 200,
): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(render(name, data));
}
