/**
 * The pages behind the mailed links and the forms that send them: register, verify the address,
 * forgot and reset the password, "this was not me". Each runs the API's service and its limits.
 * A link only shows a form: mail scanners open links, so nothing happens until the owner submits.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  forgotPassword,
  register,
  resetPassword,
  secureAccount,
} from '../../auth/accounts/accounts.service.js';
import { verifyEmailLogin } from '../../auth/accounts/login-flow.js';
import { endUserSessions } from '../../auth/sessions/sessions.service.js';
import { type AccountAction, auditAccountChange } from '../../platform/audit/account-audit.js';
import { perIp } from '../../platform/rate-limit/rate-limits.js';
import { exposedError, pageError } from '../page-errors.js';
import { type PageData, type Render, sendPage, type TemplateName } from '../render.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import {
  ForgotForm,
  RegisterForm,
  ResetForm,
  TokenForm,
  TokenQuery,
  VerifyEmailForm,
} from './forms.schemas.js';

/** Runs `action`; an exposed refusal re-renders the form (`form`) with the error and its status. */
export async function orForm(
  render: Render,
  reply: FastifyReply,
  form: { name: TemplateName; data: PageData },
  action: () => Promise<FastifyReply>,
): Promise<FastifyReply> {
  try {
    return await action();
  } catch (err) {
    const shown = exposedError(err);
    if (!shown) throw err;
    reply.headers(shown.headers);
    return sendPage(
      reply,
      render,
      form.name,
      { ...form.data, error: pageError(shown) },
      shown.status,
    );
  }
}

export function accountLinkPages(deps: WebDeps) {
  const { login, render, forms } = deps;
  const { accounts, sessions, abuse } = login;
  const { limits } = abuse;
  const audit = (request: FastifyRequest, userId: string, action: AccountAction) =>
    auditAccountChange(accounts.audit, accounts.db, accounts.clock, request.log, {
      userId,
      action,
      ip: request.ip,
    });
  const message = (
    reply: FastifyReply,
    title: string,
    paragraphs: string[],
    next: { href: string; label: string },
    steps: string[] = [],
  ) => sendPage(reply, render, 'message', { title, paragraphs, steps, next });

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/register', { config: PAGE, schema: { hide: true } }, async (request, reply) =>
      sendPage(reply, render, 'register', {
        title: 'Create an account',
        csrf: forms.token(request, reply),
        email: '',
        displayName: '',
      }),
    );

    r.post(
      '/register',
      {
        config: PAGE,
        onRequest: [perIp(limits.register)],
        preValidation: [forms.check],
        schema: { hide: true, body: RegisterForm },
      },
      async (request, reply) => {
        const { email, password, displayName } = request.body;
        const form = {
          name: 'register' as const,
          data: {
            title: 'Create an account',
            csrf: forms.token(request, reply),
            email,
            displayName,
          },
        };
        return orForm(render, reply, form, async () => {
          await register(
            accounts,
            request.log,
            { email, password, displayName },
            limits.registerMails,
          );
          return message(
            reply,
            'Check your mail',
            [
              `We sent a message to ${email}. Open the link in it to verify your address, then sign in.`,
              'Nothing arrived after a few minutes? Look in your spam folder, or register again.',
            ],
            { href: '/login', label: 'Go to sign in' },
          );
        });
      },
    );

    r.get(
      '/verify-email',
      { config: PAGE, schema: { hide: true, querystring: TokenQuery } },
      async (request, reply) =>
        sendPage(reply, render, 'verify-email', {
          title: 'Verify your address',
          csrf: forms.token(request, reply),
          token: request.query.token ?? '',
        }),
    );

    r.post(
      '/verify-email',
      {
        config: PAGE,
        onRequest: [perIp(limits.token)],
        preValidation: [forms.check],
        schema: { hide: true, body: VerifyEmailForm },
      },
      async (request, reply) => {
        const { token, password } = request.body;
        const form = {
          name: 'verify-email' as const,
          data: { title: 'Verify your address', csrf: forms.token(request, reply), token },
        };
        return orForm(render, reply, form, async () => {
          const user = await verifyEmailLogin(login, request, reply, { token, password });
          await audit(request, user.id, 'account.email_verified');
          return message(reply, 'Address verified', ['Your address is verified.'], {
            href: '/login',
            label: 'Sign in',
          });
        });
      },
    );

    r.get('/forgot-password', { config: PAGE, schema: { hide: true } }, async (request, reply) =>
      sendPage(reply, render, 'forgot', {
        title: 'Forgot your password?',
        csrf: forms.token(request, reply),
      }),
    );

    r.post(
      '/forgot-password',
      {
        config: PAGE,
        onRequest: [perIp(limits.forgot)],
        preValidation: [forms.check],
        schema: { hide: true, body: ForgotForm },
      },
      async (request, reply) => {
        await forgotPassword(accounts, request.log, request.body.email, limits.forgotMails);
        // The same answer whether or not the address has an account.
        return message(
          reply,
          'Check your mail',
          [
            'If an account uses this address, we mailed it a link to choose a new password. The link works once, for 30 minutes.',
          ],
          { href: '/login', label: 'Back to sign in' },
        );
      },
    );

    r.get(
      '/reset-password',
      { config: PAGE, schema: { hide: true, querystring: TokenQuery } },
      async (request, reply) =>
        sendPage(reply, render, 'reset', {
          title: 'Choose a new password',
          csrf: forms.token(request, reply),
          token: request.query.token ?? '',
        }),
    );

    r.post(
      '/reset-password',
      {
        config: PAGE,
        onRequest: [perIp(limits.token)],
        preValidation: [forms.check],
        schema: { hide: true, body: ResetForm },
      },
      async (request, reply) => {
        const { token, newPassword } = request.body;
        const form = {
          name: 'reset' as const,
          data: { title: 'Choose a new password', csrf: forms.token(request, reply), token },
        };
        return orForm(render, reply, form, async () => {
          const user = await resetPassword(accounts, request.log, { token, newPassword });
          await endUserSessions(sessions, user.id);
          await audit(request, user.id, 'account.password_reset');
          return message(
            reply,
            'Password changed',
            ['Your new password is set. Every session was signed out: sign in again.'],
            { href: '/login', label: 'Sign in' },
          );
        });
      },
    );

    r.get(
      '/secure-account',
      { config: PAGE, schema: { hide: true, querystring: TokenQuery } },
      async (request, reply) =>
        sendPage(reply, render, 'secure-account', {
          title: 'Secure your account',
          csrf: forms.token(request, reply),
          token: request.query.token ?? '',
        }),
    );

    r.post(
      '/secure-account',
      {
        config: PAGE,
        onRequest: [perIp(limits.token)],
        preValidation: [forms.check],
        schema: { hide: true, body: TokenForm },
      },
      async (request, reply) => {
        const { token } = request.body;
        const form = {
          name: 'secure-account' as const,
          data: { title: 'Secure your account', csrf: forms.token(request, reply), token },
        };
        return orForm(render, reply, form, async () => {
          const userId = await secureAccount(accounts, request.log, token);
          await endUserSessions(sessions, userId);
          await audit(request, userId, 'account.secured');
          return message(
            reply,
            'Your account is secured',
            [
              'We signed out every session on every device and blocked sign-in with the old password.',
              'We mailed you a link to choose a new password. What to do next:',
            ],
            { href: '/forgot-password', label: 'No mail? Ask for a new link' },
            [
              'Open the mail "Choose a new password" and set a password you use nowhere else.',
              'If you use the same password on other sites, change it there too.',
              'Sign in and check the sessions listed on your account page.',
            ],
          );
        });
      },
    );
  };
}
