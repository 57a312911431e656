/**
 * `/login`: the password step, then (MFA on) the code step, then a 303 to `returnTo`. The cookies
 * are exactly those of `POST /auth/login` (refresh, CSRF, device; the MFA challenge cookie, whose
 * path is `/auth/login/mfa`, which is why the code step posts below it).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  loginGuards,
  passwordLogin,
  secondFactorLogin,
  startLoginSession,
} from '../../auth/accounts/login-flow.js';
import { type OAuthErrorCode, oauthError, REDIRECT_CODES } from '../../auth/oauth/oauth.errors.js';
import { platformError } from '../../platform/errors.js';
import { providerLabel } from '../account/identities.routes.js';
import { exposedError, pageError } from '../page-errors.js';
import { pageSession } from '../page-session.js';
import { type PageError, sendPage } from '../render.js';
import { safeReturnTo } from '../return-to.js';
import { LOGIN_MFA_SCRIPT, PASSKEY_PAGE_SCRIPTS } from '../scripts.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { LoginForm, LoginMfaForm, LoginQuery } from './forms.schemas.js';

/**
 * The refusal a social login redirected here with (`/login?error=<code>`): only the codes the
 * callback may send are shown, with our own title; any other value is ignored, never echoed.
 */
export function redirectedError(code: string | undefined): PageError | undefined {
  if (code === undefined || !REDIRECT_CODES.has(code)) return undefined;
  if (code === 'rate_limited') return pageError(platformError('rate_limited'));
  return pageError(oauthError(code as OAuthErrorCode));
}

export function loginPages(deps: WebDeps) {
  const { login, render, forms } = deps;
  // "Sign in with …": plain links, so they work without JavaScript.
  const providers = login.sessions.config.oauthProviders.map((p) => p.name);
  const providerButtons = (returnTo: string) =>
    providers.map((name) => ({
      label: providerLabel(name),
      href: `/auth/oauth/${name}/start?returnTo=${encodeURIComponent(returnTo)}`,
    }));
  // The same load-shedding exemption and burst counting as POST /auth/login.
  const guards = loginGuards(login);
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/login',
      { config: PAGE, schema: { hide: true, querystring: LoginQuery } },
      async (request, reply) => {
        const returnTo = safeReturnTo(request.query.returnTo);
        if (await pageSession(login.sessions, request)) return reply.redirect(returnTo, 302);
        if (request.query.mfa === '1') {
          // The social login's MFA hand-off: the script moves the fragment's token into the form.
          return sendPage(reply, render, 'login-mfa', {
            title: 'Two-step verification',
            script: LOGIN_MFA_SCRIPT.src,
            csrf: forms.token(request, reply),
            returnTo,
            mfaToken: '',
          });
        }
        return sendPage(reply, render, 'login', {
          title: 'Sign in',
          scripts: PASSKEY_PAGE_SCRIPTS,
          error: redirectedError(request.query.error),
          notice:
            request.query.notice === 'account_deleted'
              ? 'Your account was deleted. We mailed a confirmation to its address.'
              : undefined,
          csrf: forms.token(request, reply),
          returnTo,
          email: '',
          providers: providerButtons(returnTo),
        });
      },
    );

    r.post(
      '/login',
      {
        config: { ...PAGE, ...guards },
        preValidation: [forms.check],
        schema: { hide: true, body: LoginForm },
      },
      async (request, reply) => {
        const returnTo = safeReturnTo(request.body.returnTo);
        try {
          const outcome = await passwordLogin(login, request, reply, request.body);
          if (outcome.kind === 'mfa_required') {
            return sendPage(reply, render, 'login-mfa', {
              title: 'Two-step verification',
              csrf: forms.token(request, reply),
              returnTo,
              mfaToken: outcome.mfaToken,
            });
          }
          await startLoginSession(login, request, reply, outcome.user, outcome.knownDevice, false);
          return reply.redirect(returnTo, 303);
        } catch (err) {
          const shown = exposedError(err);
          if (!shown) throw err;
          reply.headers(shown.headers);
          return sendPage(
            reply,
            render,
            'login',
            {
              title: 'Sign in',
              scripts: PASSKEY_PAGE_SCRIPTS,
              error: pageError(shown),
              csrf: forms.token(request, reply),
              returnTo,
              email: request.body.email,
              providers: providerButtons(returnTo),
            },
            shown.status,
          );
        }
      },
    );

    r.post(
      '/auth/login/mfa/page',
      {
        config: PAGE,
        preValidation: [forms.check],
        schema: { hide: true, body: LoginMfaForm },
      },
      async (request, reply) => {
        const returnTo = safeReturnTo(request.body.returnTo);
        let done: Awaited<ReturnType<typeof secondFactorLogin>>;
        try {
          done = await secondFactorLogin(login, request, reply, request.body);
        } catch (err) {
          // A wrong code leaves the challenge usable (within its attempt budget): ask again.
          const shown = exposedError(err);
          if (shown?.code !== 'invalid_mfa_code') throw err;
          return sendPage(
            reply,
            render,
            'login-mfa',
            {
              title: 'Two-step verification',
              error: pageError(shown),
              csrf: forms.token(request, reply),
              returnTo,
              mfaToken: request.body.mfaToken,
            },
            shown.status,
          );
        }
        await startLoginSession(
          login,
          request,
          reply,
          done.user,
          done.knownDevice,
          true,
          done.firstFactor,
        );
        return reply.redirect(returnTo, 303);
      },
    );
  };
}
