/**
 * The Express twin of the Fastify example: the same three routes, `@bastion/verify/express`.
 */
import {
  createVerifier,
  ownedOr404,
  requireRole,
  type Verifier,
  type VerifierOptions,
  type VerifyError,
} from '@bastion/verify';
import { bastionAuth, bastionErrors, principalOf } from '@bastion/verify/express';
import express, { type Express } from 'express';

export interface Note {
  readonly id: string;
  readonly ownerId: string;
  readonly text: string;
}

export interface ServerOptions {
  readonly notes?: ReadonlyMap<string, Note>;
  /** Where the reason of each refused token goes. */
  readonly onRefused?: (err: VerifyError) => void;
}

export function buildServer(
  options: VerifierOptions,
  {
    notes = new Map(),
    onRefused = (err) => console.info(`token refused: ${err.code}`),
  }: ServerOptions = {},
): { app: Express; verifier: Verifier } {
  const app = express();
  const verifier = createVerifier(options);
  app.disable('x-powered-by');
  app.use(bastionAuth(verifier, { onRefused }));

  app.get('/me', (req, res) => {
    res.json(principalOf(req));
  });

  app.get('/notes/:id', (req, res) => {
    const note = notes.get(req.params.id);
    res.json(ownedOr404(principalOf(req), note?.ownerId, note));
  });

  app.get('/admin/notes', (req, res) => {
    requireRole(principalOf(req), 'admin');
    res.json({ count: notes.size });
  });

  app.use(bastionErrors());
  return { app, verifier };
}
