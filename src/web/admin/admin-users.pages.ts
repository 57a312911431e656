/**
 * `/admin` (issue 15): the user search (`GET /admin?query=`, paged by `cursor`) and each user's
 * actions as POST forms. Every action calls the service its API route calls (admin-users and
 * admin-recovery services), so the same rules hold: an admin cannot lock, demote, delete, reset
 * the MFA of or require a reset of themselves (409 `cannot_modify_self`, shown on the page).
 * Every change needs a sign-in within 5 minutes. The form paths are under `/admin/accounts/`
 * because `/admin/users/...` are the API's.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ROLES } from '../../access/policy.js';
import {
  requirePasswordReset,
  resendVerification,
  resetUserMfa,
  type SupportDeps,
} from '../../admin/users/admin-recovery.service.js';
import { ResetMfaBody } from '../../admin/users/admin-support.schemas.js';
import { UserParams, UserSearchQuery } from '../../admin/users/admin-users.schemas.js';
import {
  type AdminDeps,
  deleteUser,
  forceLogout,
  patchUser,
} from '../../admin/users/admin-users.service.js';
import { searchUsers } from '../../admin/users/admin-users.store.js';
import { toSelfView } from '../../auth/accounts/accounts.schemas.js';
import { findUserById } from '../../auth/accounts/accounts.store.js';
import { identitiesOfUsers } from '../../auth/oauth/identities.store.js';
import { platformError } from '../../platform/errors.js';
import { createMediaStore } from '../../platform/media/media.store.js';
import { sendPage } from '../render.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { adminSession, requireRecentSignIn } from './admin-access.js';

const PAGE_SIZE = 25;

/** What `/admin?done=…` says; only these codes are shown, the query is never echoed. */
const NOTICES: Readonly<Record<string, string>> = {
  locked: 'The account was locked and its sessions ended.',
  unlocked: 'The account was unlocked.',
  roles: 'The roles were saved.',
  logged_out: 'Every session of the account was ended.',
  password_reset_required: 'The account must reset its password at the next sign-in.',
  mfa_reset: 'The second factor of the account was removed and its sessions ended.',
  verification_resent: 'A verification link is on its way (if the account is unverified).',
  deleted: 'The account was deleted.',
};

const UsersQuery = UserSearchQuery.omit({ limit: true }).extend({
  done: z.string().max(64).optional(),
});

const csrf = { _csrf: z.string().max(200) };
/** `query` brings the admin back to the search they acted from. */
const ActionForm = z.strictObject({ ...csrf, query: z.string().max(200).optional() });
/** Ticked boxes: none, one (a string) or several (an array). */
const RolesForm = ActionForm.extend({
  roles: z
    .union([z.enum(ROLES), z.array(z.enum(ROLES)).max(ROLES.length)])
    .optional()
    .transform((v) => (v === undefined ? [] : [v].flat())),
});
const ResetMfaForm = ActionForm.extend(ResetMfaBody.shape);
const DeleteForm = z.strictObject({
  ...csrf,
  confirm: z.literal('yes', { error: 'tick the box to confirm' }),
});

function utc(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

/** `/admin` with the search kept and a notice code. */
function backToList(query: string | undefined, done: string): string {
  const params = new URLSearchParams();
  if (query) params.set('query', query);
  params.set('done', done);
  return `/admin?${params.toString()}`;
}

export function adminUserPages(deps: WebDeps) {
  const { login, render, forms } = deps;
  const { sessions, accounts } = login;
  const admin: AdminDeps = { sessions, media: createMediaStore(sessions.db) };
  const support: SupportDeps = { sessions, accounts };

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/admin',
      { config: PAGE, schema: { hide: true, querystring: UsersQuery } },
      async (request, reply) => {
        const current = await adminSession(sessions, request, reply);
        if (!current) return reply;
        const { query, cursor, done } = request.query;
        const rows = await searchUsers(sessions.db, query, cursor, PAGE_SIZE + 1);
        const page = rows.slice(0, PAGE_SIZE);
        const identities = await identitiesOfUsers(
          sessions.db,
          page.map((u) => u.id),
        );
        let next: string | undefined;
        const last = page.at(-1);
        if (rows.length > PAGE_SIZE && last) {
          const params = new URLSearchParams();
          if (query) params.set('query', query);
          params.set('cursor', last.id);
          next = `/admin?${params.toString()}`;
        }
        return sendPage(reply, render, 'admin-users', {
          title: 'Users',
          wide: true,
          signedIn: true,
          notice: done !== undefined && Object.hasOwn(NOTICES, done) ? NOTICES[done] : undefined,
          csrf: forms.token(request, reply),
          query: query ?? '',
          roles: ROLES,
          next,
          users: page.map((u) => {
            const view = toSelfView(u);
            return {
              ...view,
              createdAt: utc(view.createdAt),
              identities: (identities.get(u.id) ?? []).map((i) => ({
                provider: i.provider,
                email: i.email,
              })),
            };
          }),
        });
      },
    );

    // The forms' paths answer a GET (a reload, the refusal page's "Back") with the list.
    for (const action of [
      'lock',
      'unlock',
      'roles',
      'logout-all',
      'require-password-reset',
      'reset-mfa',
      'resend-verification',
    ]) {
      r.get(
        `/admin/accounts/:id/${action}`,
        { config: PAGE, schema: { hide: true } },
        async (_request, reply) => reply.redirect('/admin', 302),
      );
    }

    /** Registers one action form: admin, recent sign-in, then `run`, then back to the list. */
    const action = <S extends typeof ActionForm | typeof RolesForm | typeof ResetMfaForm>(
      name: string,
      body: S,
      done: string,
      run: (
        actor: Parameters<typeof forceLogout>[1],
        id: string,
        form: z.infer<S>,
      ) => Promise<unknown>,
    ) =>
      r.post(
        `/admin/accounts/:id/${name}`,
        {
          config: PAGE,
          preValidation: [forms.check],
          schema: { hide: true, params: UserParams, body },
        },
        async (request, reply): Promise<FastifyReply> => {
          const current = await adminSession(sessions, request, reply);
          if (!current) return reply;
          requireRecentSignIn(sessions, current);
          const form = request.body as z.infer<S>;
          await run(current.actor, request.params.id, form);
          return reply.redirect(backToList(form.query, done), 303);
        },
      );

    action('lock', ActionForm, 'locked', (actor, id) =>
      patchUser(admin, actor, id, { locked: true }),
    );
    action('unlock', ActionForm, 'unlocked', (actor, id) =>
      patchUser(admin, actor, id, { locked: false }),
    );
    action('roles', RolesForm, 'roles', (actor, id, form) =>
      patchUser(admin, actor, id, { roles: (form as z.infer<typeof RolesForm>).roles }),
    );
    action('logout-all', ActionForm, 'logged_out', (actor, id) => forceLogout(admin, actor, id));
    action('require-password-reset', ActionForm, 'password_reset_required', (actor, id) =>
      requirePasswordReset(support, actor, id),
    );
    action('reset-mfa', ResetMfaForm, 'mfa_reset', (actor, id, form) =>
      resetUserMfa(support, actor, id, (form as z.infer<typeof ResetMfaForm>).reason),
    );
    action('resend-verification', ActionForm, 'verification_resent', (actor, id) =>
      resendVerification(support, actor, id),
    );

    // Deleting is two steps: this page names the account, its form deletes it.
    r.get(
      '/admin/accounts/:id/delete',
      { config: PAGE, schema: { hide: true, params: UserParams } },
      async (request, reply) => {
        const current = await adminSession(sessions, request, reply);
        if (!current) return reply;
        const user = await findUserById(sessions.db, request.params.id);
        if (!user || user.deleted_at) throw platformError('not_found');
        return sendPage(reply, render, 'admin-delete', {
          title: 'Delete an account',
          signedIn: true,
          csrf: forms.token(request, reply),
          user: { id: user.id, email: user.email, displayName: user.display_name },
        });
      },
    );

    r.post(
      '/admin/accounts/:id/delete',
      {
        config: PAGE,
        preValidation: [forms.check],
        schema: { hide: true, params: UserParams, body: DeleteForm },
      },
      async (request, reply) => {
        const current = await adminSession(sessions, request, reply);
        if (!current) return reply;
        requireRecentSignIn(sessions, current);
        await deleteUser(admin, current.actor, request.params.id);
        return reply.redirect(backToList(undefined, 'deleted'), 303);
      },
    );
  };
}
