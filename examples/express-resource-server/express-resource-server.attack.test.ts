/** The Express example against a real Bastion: the shared resource-server attacks (issue 18). */
import type { AddressInfo } from 'node:net';
import { resourceServerSuite } from '../../packages/verify/test/resource-server-suite.js';
import { buildServer } from './server.js';

resourceServerSuite('Express', async ({ verifier: options, notes, onRefused }) => {
  const { app, verifier } = buildServer(options, { notes, onRefused });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      verifier.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
});
