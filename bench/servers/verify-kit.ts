/**
 * (B for `verify-kit`) A resource server as a service team would write it: bare Fastify 5
 * (default options, logger off, like servers/bare.ts) with one route guarded by @bastion/verify,
 * pointed at the Bastion child (BENCH_BASTION_ORIGIN): discovery, the JWKS and the revocation
 * feed (BENCH_SERVICE_TOKEN) over HTTP. The Bastion child's PUBLIC_URL is `http://127.0.0.1:0`
 * (it listens on port 0), so that is the issuer and audience, and the endpoints are given.
 */

import Fastify from 'fastify';
import { bastionVerify } from '../../packages/verify/src/fastify.js';
import { createVerifier } from '../../packages/verify/src/index.js';
import { announce, onStop } from '../lib/server.js';

const origin = process.env.BENCH_BASTION_ORIGIN;
const serviceToken = process.env.BENCH_SERVICE_TOKEN;
if (!origin || !serviceToken) throw new Error('BENCH_BASTION_ORIGIN and BENCH_SERVICE_TOKEN');
const issuer = 'http://127.0.0.1:0';

const verifier = createVerifier({
  issuer,
  audience: issuer,
  discoveryUrl: `${origin}/.well-known/openid-configuration`,
  jwksUri: `${origin}/.well-known/jwks.json`,
  revocations: { serviceToken, url: `${origin}/auth/revocations` },
});
await verifier.ready();
const app = Fastify();
onStop(() => app.close());
await app.register(bastionVerify, { verifier });
app.get('/kit', { onRequest: app.bastionAuthenticate }, async () => ({ status: 'ok' }));
await app.listen({ host: '127.0.0.1', port: 0 });
announce((app.server.address() as { port: number }).port);
