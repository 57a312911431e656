/**
 * The hosted pages (DESIGN.md "Hosted pages"): server-rendered HTML forms over the API's own
 * services. Form bodies (`application/x-www-form-urlencoded`) are parsed only in this scope, and
 * refusals here are pages, not problem+json.
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import type { LoginDeps } from '../auth/accounts/login-flow.js';
import { passkeyService } from '../auth/passkeys/passkeys.service.js';
import { accountPages } from './account/account.routes.js';
import { type AvatarPageDeps, avatarPages } from './account/avatar.routes.js';
import { identityPages } from './account/identities.routes.js';
import { mfaPages } from './account/mfa.routes.js';
import { passkeyPageApi, passkeyPages } from './account/passkeys.routes.js';
import { profilePages } from './account/profile.routes.js';
import { securityPages } from './account/security.routes.js';
import { adminLogPages } from './admin/admin-logs.pages.js';
import { adminUserPages } from './admin/admin-users.pages.js';
import { acceptInvitePages } from './auth/accept-invite.routes.js';
import { accountLinkPages } from './auth/account-links.routes.js';
import { emailChangePages } from './auth/email-change.pages.js';
import { loginPages } from './auth/login.routes.js';
import { formCsrf } from './form-csrf.js';
import { pageErrorHandler } from './page-errors.js';
import { createRenderer } from './render.js';
import { SCRIPTS } from './scripts.js';
import { STYLESHEET } from './stylesheet.js';
import type { WebDeps } from './web.deps.js';

const FORM_BODY_LIMIT = 16 * 1024;

/**
 * Registers the stylesheet and every page; `formKey` keys the forms' CSRF tokens; `uploads` (the
 * API's media store, decode queue and upload budget) enables the avatar form.
 */
export function pageRoutes(login: LoginDeps, formKey: Buffer, uploads?: AvatarPageDeps) {
  const config = login.sessions.config;
  const deps: WebDeps = {
    login,
    render: createRenderer(config.appName),
    forms: formCsrf(formKey, config.secureCookies, config.publicUrl),
  };
  const passkeys = passkeyService({ config, state: login.sessions.state, login });
  return async (app: FastifyInstance) => {
    app.get(
      STYLESHEET.path,
      { config: { access: 'public' }, schema: { hide: true } },
      async (_request, reply) =>
        reply
          .header('cache-control', 'public, max-age=31536000, immutable')
          .type('text/css; charset=utf-8')
          .send(STYLESHEET.css),
    );
    for (const script of SCRIPTS) {
      app.get(
        script.path,
        { config: { access: 'public' }, schema: { hide: true } },
        async (_request, reply) =>
          reply
            .header('cache-control', 'public, max-age=31536000, immutable')
            .type('text/javascript; charset=utf-8')
            .send(script.body),
      );
    }
    // "Add a passkey" calls these from the account page's script: JSON in, problem+json out.
    await app.register(passkeyPageApi(deps, passkeys));
    await app.register(async (pages) => {
      await pages.register(formbody, { bodyLimit: FORM_BODY_LIMIT });
      pages.setErrorHandler(pageErrorHandler(deps.render));
      await pages.register(loginPages(deps));
      await pages.register(accountLinkPages(deps));
      await pages.register(acceptInvitePages(deps));
      await pages.register(emailChangePages(deps));
      await pages.register(accountPages(deps));
      await pages.register(identityPages(deps));
      await pages.register(profilePages(deps));
      await pages.register(securityPages(deps));
      await pages.register(mfaPages(deps));
      await pages.register(passkeyPages(deps, passkeys));
      if (uploads) await pages.register(avatarPages(deps, uploads));
      await pages.register(adminUserPages(deps));
      await pages.register(adminLogPages(deps));
    });
  };
}
