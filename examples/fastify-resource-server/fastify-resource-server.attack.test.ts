/** The Fastify example against a real Bastion: the shared resource-server attacks (issue 18). */
import { resourceServerSuite } from '../../packages/verify/test/resource-server-suite.js';
import { buildServer } from './server.js';

resourceServerSuite('Fastify', async ({ verifier, notes, onRefused }) => {
  const app = await buildServer(verifier, { notes, onRefused });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
});
