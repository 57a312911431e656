/**
 * Fastify plugin: `app.register(bastionVerify, { verifier })` adds `request.auth` (the principal)
 * and the `app.bastionAuthenticate` hook for routes (`{ onRequest: app.bastionAuthenticate }`),
 * or, with `{ global: true }`, authenticates every route of the scope it is registered in. A
 * refused token answers 401 problem+json `unauthorized` (the precise `VerifyError` code goes to the request's
 * log and to `onRefused`). `VerifyError`s thrown by the helpers in a handler keep their status
 * through Fastify's default error handler (`statusCode`, `code`), or answer problem+json with
 * `app.setErrorHandler(bastionErrorHandler)`.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { problemFor, VerifyError } from './errors.js';
import type { Principal, Verifier } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller; set by `app.bastionAuthenticate` (null on unguarded routes). */
    auth: Principal | null;
  }
  interface FastifyInstance {
    bastionAuthenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

export interface BastionVerifyPluginOptions {
  readonly verifier: Verifier;
  /** Authenticate every route registered after the plugin in this scope. */
  readonly global?: boolean;
  /** Called for every refused request (after the request log line). */
  readonly onRefused?: (err: VerifyError, request: FastifyRequest) => void;
}

/** `request.auth`, or a 401 when the route was not guarded (a wiring mistake). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.auth) throw new VerifyError('token_missing');
  return request.auth;
}

/**
 * For `app.setErrorHandler`: a `VerifyError` a handler threw (`requireRole`, `ownedOr404`)
 * becomes its problem+json answer; any other error gets Fastify's default handling.
 */
export function bastionErrorHandler(
  error: unknown,
  _request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (!(error instanceof VerifyError)) return reply.send(error);
  const { status, body, headers } = problemFor(error);
  return reply.code(status).headers(headers).send(body);
}

const plugin: FastifyPluginAsync<BastionVerifyPluginOptions> = async (app, options) => {
  const { verifier } = options;
  app.decorateRequest('auth', null);
  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      request.auth = await verifier.verifyAuthorization(request.headers.authorization);
    } catch (err) {
      if (!(err instanceof VerifyError)) throw err;
      request.log.info({ event: 'token_refused', code: err.code }, 'bastion token refused');
      options.onRefused?.(err, request);
      const { status, body, headers } = problemFor(err);
      await reply.code(status).headers(headers).send(body);
    }
  }
  app.decorate('bastionAuthenticate', authenticate);
  if (options.global) app.addHook('onRequest', authenticate);
  app.addHook('onClose', async () => verifier.close());
};

export const bastionVerify = fp(plugin, { fastify: '5.x', name: '@bastion/verify' });
export default bastionVerify;
