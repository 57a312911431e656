/**
 * One error type for everything a client may see, and the problem+json writer.
 * Anything that is not an AppError becomes `internal_error`: its message, stack and SQL go to the
 * log under the request id, never to the client.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const PROBLEM_TYPE_BASE = 'urn:bastion:problem:';

/** Codes owned by the platform; each capability keeps its own table next to its routes. */
export const platformErrors = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  bad_request: { status: 400, title: 'The request cannot be processed' },
  unauthorized: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'You may not do this' },
  https_required: { status: 403, title: 'HTTPS is required' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  request_timeout: { status: 408, title: 'The request did not arrive in time' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported' },
  rate_limited: { status: 429, title: 'Too many requests' },
  headers_too_large: { status: 431, title: 'The request headers are too large' },
  internal_error: { status: 500, title: 'Internal error' },
  overloaded: { status: 503, title: 'The server is busy, retry shortly' },
  service_unavailable: { status: 503, title: 'The service is not available' },
} as const;

export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
}

/** An error whose `code` and status reach the client (when status < 500). */
export class AppError extends Error {
  readonly expose: boolean;
  constructor(
    readonly code: string,
    readonly status: number,
    readonly title: string,
    /** Extra members for the problem body (e.g. `rule`, `mfaToken`); never secrets of others. */
    readonly extra: Record<string, unknown> = {},
    /** Headers for the response (e.g. `Retry-After`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(title);
    this.name = 'AppError';
    this.expose = status < 500;
  }
}

/** Builds a typed error factory from a module's code table. */
export function defineErrors<T extends Record<string, ErrorSpec>>(table: T) {
  return (
    code: keyof T & string,
    extra?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): AppError => {
    const spec = table[code] as ErrorSpec;
    return new AppError(code, spec.status, spec.title, extra, headers);
  };
}

export const platformError = defineErrors(platformErrors);

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  requestId: string;
  [extra: string]: unknown;
}

/** The problem+json body of `err`, filed under `requestId`. */
export function problemBody(err: AppError, requestId: string): Problem {
  return {
    ...err.extra,
    type: `${PROBLEM_TYPE_BASE}${err.code}`,
    title: err.title,
    status: err.status,
    code: err.code,
    requestId,
  };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, err: AppError): void {
  const body = problemBody(err, String(request.id));
  reply
    .code(err.status)
    .headers(err.headers)
    .header('cache-control', 'no-store')
    .type('application/problem+json; charset=utf-8')
    .send(JSON.stringify(body));
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: { issue?: { path?: PropertyKey[]; code?: string; message?: string } };
}

function validationErrors(err: FastifyError): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  for (const v of (err.validation ?? []) as ValidationIssue[]) {
    const issue = v.params?.issue;
    const path = issue?.path?.map(String).join('.') ?? v.instancePath?.replace(/^\//, '') ?? '';
    out.push({
      path: `${err.validationContext ?? 'body'}${path ? `.${path}` : ''}`,
      message: issue?.message ?? v.message ?? 'invalid',
    });
  }
  return out;
}

/**
 * A schema check may name the problem its failure answers instead of `validation_failed`: a
 * custom issue with `params: { problem: { code, status, title, extra } }` (a too-long password
 * is 400 `weak_password`, auth/passwords/password-field.ts). Client errors (4xx) only.
 */
function namedProblem(err: FastifyError): AppError | undefined {
  for (const v of (err.validation ?? []) as { params?: { params?: { problem?: unknown } } }[]) {
    const p = v.params?.params?.problem as
      | { code?: unknown; status?: unknown; title?: unknown; extra?: unknown }
      | undefined;
    if (
      p &&
      typeof p.code === 'string' &&
      typeof p.status === 'number' &&
      p.status >= 400 &&
      p.status < 500 &&
      typeof p.title === 'string'
    ) {
      const extra = typeof p.extra === 'object' && p.extra !== null ? p.extra : {};
      return new AppError(p.code, p.status, p.title, { ...extra });
    }
  }
  return undefined;
}

/** Maps Fastify's own error codes to ours; classification is by `code`, never by message. */
export function fromFastifyError(err: FastifyError): AppError | undefined {
  if (err.validation) {
    const named = namedProblem(err);
    if (named) return named;
    return platformError('validation_failed', { errors: validationErrors(err) });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return platformError('malformed_json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return platformError('payload_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return platformError('unsupported_media_type');
    default:
      break;
  }
  // Other Fastify client errors (bad content-length, invalid content-type header, ...).
  if (typeof err.code === 'string' && err.code.startsWith('FST_') && err.statusCode) {
    if (err.statusCode === 413) return platformError('payload_too_large');
    if (err.statusCode === 415) return platformError('unsupported_media_type');
    if (err.statusCode >= 400 && err.statusCode < 500) return platformError('bad_request');
  }
  return undefined;
}

/**
 * Installs the problem+json error and not-found handlers. With `allowedMethods`, a path served
 * under other methods answers 405 `method_not_allowed` with `Allow` instead of 404.
 */
export function installErrorHandling(
  app: FastifyInstance,
  allowedMethods?: (url: string) => readonly string[] | undefined,
): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const appError = error instanceof AppError ? error : fromFastifyError(error);
    if (!appError) {
      // Unknown failure: details to the log only, under the same request id.
      request.log.error({ err: error }, 'unhandled error');
      sendProblem(request, reply, platformError('internal_error'));
      return;
    }
    if (appError.status >= 500) request.log.warn({ problem: appError.code }, 'request refused');
    else request.log.info({ problem: appError.code, status: appError.status }, 'request rejected');
    sendProblem(request, reply, appError);
  });

  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethods?.(request.url);
    if (allowed && allowed.length > 0 && !allowed.includes(request.method)) {
      sendProblem(
        request,
        reply,
        platformError('method_not_allowed', undefined, { allow: allowed.join(', ') }),
      );
      return;
    }
    sendProblem(request, reply, platformError('not_found'));
  });
}
