/**
 * A Fastify service that trusts Bastion's access tokens: notes that belong to their author.
 * `GET /notes/:id` is the author's only (another user's note is a 404, like a missing one),
 * `GET /admin/notes` needs the `admin` role, `GET /me` echoes the principal.
 */
import {
  createVerifier,
  ownedOr404,
  requireRole,
  type VerifierOptions,
  type VerifyError,
} from '@bastion/verify';
import { bastionErrorHandler, bastionVerify, principalOf } from '@bastion/verify/fastify';
import Fastify, { type FastifyInstance } from 'fastify';

export interface Note {
  readonly id: string;
  readonly ownerId: string;
  readonly text: string;
}

export interface ServerOptions {
  readonly notes?: ReadonlyMap<string, Note>;
  /** Where the reason of each refused token goes (besides the request log). */
  readonly onRefused?: (err: VerifyError) => void;
}

export async function buildServer(
  options: VerifierOptions,
  { notes = new Map(), onRefused }: ServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  const verifier = createVerifier(options);
  await app.register(bastionVerify, { verifier, onRefused });
  app.setErrorHandler(bastionErrorHandler);

  app.get('/me', { onRequest: app.bastionAuthenticate }, async (request) => principalOf(request));

  app.get<{ Params: { id: string } }>(
    '/notes/:id',
    { onRequest: app.bastionAuthenticate },
    async (request) => {
      const note = notes.get(request.params.id);
      return ownedOr404(principalOf(request), note?.ownerId, note);
    },
  );

  app.get('/admin/notes', { onRequest: app.bastionAuthenticate }, async (request) => {
    requireRole(principalOf(request), 'admin');
    return { count: notes.size };
  });

  return app;
}
