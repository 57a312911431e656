/**
 * Every refusal Bastion answers is RFC 9457 problem+json with a stable `code`; the client turns
 * it into a `BastionError` carrying that code, the status and the rest of the problem body.
 */
import type { components } from './schema.js';

export type Problem = components['schemas']['Problem'];

/** The `code`s an operation's error answers name (`string` when the document lists none). */
export type ErrorCodeOf<E> = E extends { code?: infer C } ? Extract<C, string> : string;

export class BastionError<C extends string = string> extends Error {
  /** The HTTP status (0 when no answer arrived). */
  readonly status: number;
  /** The problem's stable `code` (`http_<status>` when the answer was not problem+json). */
  readonly code: C;
  readonly title: string;
  readonly detail: string | undefined;
  /** The id the server's log files the request under (quote it in a support request). */
  readonly requestId: string | undefined;
  /** Seconds from `Retry-After` (429, 503), when the server sent it. */
  readonly retryAfter: number | undefined;
  /** The whole problem body: extra members such as `errors`, `rule`, `mfaToken`. */
  readonly problem: Partial<Problem> & Record<string, unknown>;

  constructor(
    status: number,
    problem: Partial<Problem> & Record<string, unknown>,
    retryAfter?: number,
  ) {
    const title = typeof problem.title === 'string' ? problem.title : `HTTP ${status}`;
    super(typeof problem.detail === 'string' ? `${title}: ${problem.detail}` : title);
    this.name = 'BastionError';
    this.status = status;
    this.code = (typeof problem.code === 'string' ? problem.code : `http_${status}`) as C;
    this.title = title;
    this.detail = typeof problem.detail === 'string' ? problem.detail : undefined;
    this.requestId = typeof problem.requestId === 'string' ? problem.requestId : undefined;
    this.retryAfter = retryAfter;
    this.problem = problem;
  }
}

/** True when `err` is a BastionError, with one of `codes` when any are given. */
export function isBastionError<C extends string>(
  err: unknown,
  ...codes: C[]
): err is BastionError<C> {
  return err instanceof BastionError && (codes.length === 0 || codes.includes(err.code as C));
}

/** The error for an answer that is not a success; `body` is what openapi-fetch parsed of it. */
export function errorOf(response: Response, body: unknown): BastionError {
  const problem =
    body !== null && typeof body === 'object'
      ? (body as Record<string, unknown>)
      : typeof body === 'string' && body !== ''
        ? { detail: body.slice(0, 200) }
        : {};
  const header = response.headers.get('retry-after');
  const retryAfter = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  return new BastionError(response.status, problem, retryAfter);
}

/**
 * The data of an openapi-fetch result, or throws its `BastionError`:
 * `const me = unwrap(await client.api.GET('/auth/me'))`.
 */
export function unwrap<D, E>(result: { data?: D; error?: E; response: Response }): D {
  if (result.error !== undefined || !result.response.ok) {
    throw errorOf(result.response, result.error) as BastionError<ErrorCodeOf<E>>;
  }
  return result.data as D;
}
