/**
 * Express middleware: `app.use(bastionAuth(verifier))` (or per route) sets `req.auth` (the principal);
 * a refused token answers 401 problem+json `unauthorized`. `bastionErrors()` as the last error
 * middleware turns the helpers' `VerifyError`s (403 `forbidden`, 404 `not_found`) into the same
 * problem+json. Typed structurally, so the kit does not depend on Express.
 */
import { problemFor, VerifyError } from './errors.js';
import type { Principal, Verifier } from './verifier.js';

/** The parts of Express's request and response the middleware uses. */
export interface RequestLike {
  headers: { authorization?: string | undefined };
  auth?: Principal;
}
export interface ResponseLike {
  headersSent: boolean;
  status(code: number): this;
  set(headers: Record<string, string>): this;
  send(body: string): this;
}
export type Next = (err?: unknown) => void;

export interface BastionAuthOptions {
  /** Called for every refused request (log the `code` here). */
  readonly onRefused?: (err: VerifyError, req: RequestLike) => void;
}

function sendProblem(res: ResponseLike, err: VerifyError): void {
  const { status, body, headers } = problemFor(err);
  res.status(status).set(headers).send(JSON.stringify(body));
}

export function bastionAuth(verifier: Verifier, options: BastionAuthOptions = {}) {
  return (req: RequestLike, res: ResponseLike, next: Next): void => {
    verifier.verifyAuthorization(req.headers.authorization).then(
      (principal) => {
        req.auth = principal;
        next();
      },
      (err: unknown) => {
        if (err instanceof VerifyError) {
          options.onRefused?.(err, req);
          sendProblem(res, err);
        } else next(err);
      },
    );
  };
}

/** `req.auth`, or a 401 `VerifyError` when the route was not behind `bastionAuth`. */
export function principalOf(req: RequestLike): Principal {
  if (!req.auth) throw new VerifyError('token_missing');
  return req.auth;
}

/** Error middleware: a `VerifyError` becomes its problem+json; anything else goes on. */
export function bastionErrors() {
  return (err: unknown, _req: RequestLike, res: ResponseLike, next: Next): void => {
    if (err instanceof VerifyError && !res.headersSent) sendProblem(res, err);
    else next(err);
  };
}
