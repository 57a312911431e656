/** (A) Bare Fastify 5: default options, logger off, one route. */
import Fastify from 'fastify';
import { announce, onStop } from '../lib/server.js';

const app = Fastify();
onStop(() => app.close());
app.get('/health/live', async () => ({ status: 'ok' }));
await app.listen({ host: '127.0.0.1', port: 0 });
announce((app.server.address() as { port: number }).port);
