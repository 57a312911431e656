/**
 * Refusals as pages. The code and title are the API's (the same AppError), with a hint saying
 * what to do; anything unexpected is `internal_error` with the request id, its details logged
 * only. Never a stack.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, fromFastifyError, platformError } from '../platform/errors.js';
import { type PageError, type Render, sendPage } from './render.js';

const HINTS: Readonly<Record<string, string>> = {
  csrf_failed:
    'This form expired or was sent from another site. Go back, reload the page and submit it again.',
  invalid_credentials: 'The email or password is wrong. Check both and try again.',
  email_not_verified:
    'Your address is not verified yet: open the link in the mail we sent when you registered.',
  invalid_token:
    'This link was already used, has expired or is incomplete. Ask for a new one (for a password: "Forgot your password?").',
  weak_password: 'Choose another password.',
  rate_limited: 'Too many attempts. Wait a little, then try again.',
  invalid_mfa_code: 'The code is wrong or expired. Try the current code from your app.',
  invalid_mfa_token: 'This sign-in step expired. Sign in again.',
  overloaded: 'The server is busy. Try again in a moment.',
  validation_failed: 'Some fields are missing or not valid.',
  forbidden: 'Your account may not do this: administrator pages need an administrator account.',
  mfa_enrollment_required:
    'Set up two-step verification on your account page, then log out and sign in again with it.',
  reauthentication_required: 'Log out, sign in again, then repeat the change.',
  cannot_modify_self: 'Ask another administrator to do this.',
};

function details(err: AppError): string[] {
  const out: string[] = [];
  const { rule, suggestions, errors } = err.extra as {
    rule?: unknown;
    suggestions?: unknown;
    errors?: unknown;
  };
  if (typeof rule === 'string') out.push(`Rule: ${rule.replaceAll('_', ' ')}`);
  if (Array.isArray(suggestions)) {
    for (const s of suggestions) if (typeof s === 'string') out.push(s);
  }
  if (Array.isArray(errors)) {
    for (const e of errors as { path?: unknown; message?: unknown }[]) {
      if (typeof e.path === 'string' && typeof e.message === 'string') {
        out.push(`${e.path.replace(/^body\./, '')}: ${e.message}`);
      }
    }
  }
  return out;
}

/** The page form of an exposed AppError. */
export function pageError(err: AppError): PageError {
  return { code: err.code, title: err.title, hint: HINTS[err.code], details: details(err) };
}

/** The AppError an error stands for, or undefined for an unexpected failure. */
export function exposedError(err: unknown): AppError | undefined {
  const appError =
    err instanceof AppError ? err : (fromFastifyError(err as FastifyError) ?? undefined);
  return appError?.expose ? appError : undefined;
}

/** The pages' error handler: the error page with the API's status and code. */
export function pageErrorHandler(render: Render) {
  return (error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) => {
    let appError = exposedError(error);
    if (!appError) {
      request.log.error({ err: error }, 'unhandled error');
      appError = platformError('internal_error');
    } else {
      request.log.info({ problem: appError.code, status: appError.status }, 'request rejected');
    }
    const shown =
      appError.code === 'internal_error'
        ? { ...pageError(appError), hint: `Try again later. Reference: ${String(request.id)}` }
        : pageError(appError);
    const back = request.method === 'GET' ? '/login' : request.url.split('?')[0];
    reply.headers(appError.headers);
    return sendPage(
      reply,
      render,
      'error',
      {
        title:
          appError.code === 'csrf_failed' ? 'The form could not be sent' : 'Something went wrong',
        error: shown,
        back: back === '/auth/login/mfa/page' ? '/login' : back,
        backLabel: 'Back to the form',
      },
      appError.status,
    );
  };
}
