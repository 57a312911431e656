/**
 * The world of the administrator support-tool tests (issue 19): an app on a manual clock wired to
 * a real SMTP server, an admin with TOTP, and helpers to invite, read the invitation link and look
 * at what the database recorded (audit entries, `admin_action` events, lifecycle events).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import type { Env } from '../../src/config.js';
import { manualClock } from '../../src/platform/clock.js';
import { accountTestEnv, MAIL_TIMEOUT_MS } from './accounts.js';
import { type Actor, createAdmin } from './actors.js';
import { createTestApp, type TestContext } from './app.js';
import { uniqueEmail } from './auth.js';
import { SETUP_TIMEOUT_MS } from './mfa.js';
import { extractLink, startTestSmtp, type TestSmtp } from './smtp.js';

export interface SupportWorld {
  readonly ctx: TestContext;
  readonly smtp: TestSmtp;
  readonly clock: ReturnType<typeof manualClock>;
  /** A fresh admin with TOTP, logged in through it just now (a recent login). */
  admin(): Promise<Actor & { readonly totpSecret: string }>;
}

/** Registers beforeAll/afterAll; the world is ready inside tests. */
export function useSupportWorld(env: Env = {}): SupportWorld {
  const clock = manualClock(Math.floor(Date.now() / 1000) * 1000);
  let ctx: TestContext | undefined;
  let smtp: TestSmtp | undefined;
  beforeAll(async () => {
    smtp = await startTestSmtp();
    ctx = await createTestApp({ env: { ...accountTestEnv(smtp), ...env }, deps: { clock } });
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await ctx?.close();
    await smtp?.close();
  });
  const need = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the world is not ready');
    return v;
  };
  return {
    get ctx() {
      return need(ctx);
    },
    get smtp() {
      return need(smtp);
    },
    clock,
    admin: () => createAdmin(need(ctx).app, need(ctx).database.db, clock),
  };
}

export function invite(
  world: SupportWorld,
  admin: Actor,
  body: Record<string, unknown> = { email: uniqueEmail('invitee') },
): Promise<LightMyRequestResponse> {
  return world.ctx.app.inject({
    method: 'POST',
    url: '/admin/users',
    headers: admin.headers,
    payload: body,
  });
}

/** The token of the next invitation mail to `email`. */
export async function invitationToken(world: SupportWorld, email: string): Promise<string> {
  const mail = await world.smtp.waitForMail(
    email,
    (m) => m.text.includes('/accept-invite?token='),
    MAIL_TIMEOUT_MS,
  );
  const token = extractLink(mail, '/accept-invite').searchParams.get('token');
  if (!token) throw new Error('no token in the invitation link');
  return token;
}

/** Invites a new address and returns its id, address and mailed token. */
export async function invited(
  world: SupportWorld,
  admin: Actor,
  roles?: string[],
): Promise<{ id: string; email: string; token: string }> {
  const email = uniqueEmail('invitee');
  const res = await invite(world, admin, roles ? { email, roles } : { email });
  if (res.statusCode !== 201) throw new Error(`invite failed: ${res.statusCode} ${res.body}`);
  return { id: res.json().id, email, token: await invitationToken(world, email) };
}

export function accept(
  world: SupportWorld,
  token: string,
  password: string,
  extra: Record<string, unknown> = {},
): Promise<LightMyRequestResponse> {
  return world.ctx.app.inject({
    method: 'POST',
    url: '/auth/invitations/accept',
    payload: { token, password, ...extra },
  });
}

export function adminPost(
  world: SupportWorld,
  admin: { headers: Record<string, string> },
  url: string,
  payload?: Record<string, unknown>,
): Promise<LightMyRequestResponse> {
  return world.ctx.app.inject({ method: 'POST', url, headers: admin.headers, payload });
}

export async function auditOf(
  world: SupportWorld,
  targetId: string,
): Promise<{ action: string; actor_id: string | null; detail: unknown }[]> {
  return world.ctx.database.db
    .selectFrom('audit_log')
    .select(['action', 'actor_id', 'detail'])
    .where('target_id', '=', targetId)
    .orderBy('seq')
    .execute();
}

/** The `admin_action` security events naming `targetId`, as `action` strings. */
export async function adminActionsOn(world: SupportWorld, targetId: string): Promise<string[]> {
  const rows = await world.ctx.database.db
    .selectFrom('security_events')
    .select('detail')
    .where('type', '=', 'admin_action')
    .execute();
  return rows
    .map(
      (r) =>
        (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as {
          action: string;
          targetId: string;
        },
    )
    .filter((d) => d.targetId === targetId)
    .map((d) => d.action);
}

export async function lifecycleTypes(world: SupportWorld, userId: string): Promise<string[]> {
  const rows = await world.ctx.database.db
    .selectFrom('lifecycle_events')
    .select('type')
    .where('user_id', '=', userId)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.type);
}
