/**
 * `BASTION_URL=https://auth.example.com AUDIENCE=https://notes.example.com \
 *  BASTION_SERVICE_TOKEN=... npm start` (PORT, default 4000).
 */
import { buildServer } from './server.js';

const { BASTION_URL, AUDIENCE, BASTION_SERVICE_TOKEN, PORT } = process.env;
if (!BASTION_URL || !AUDIENCE) throw new Error('set BASTION_URL and AUDIENCE');

const app = await buildServer({
  issuer: BASTION_URL,
  audience: AUDIENCE,
  ...(BASTION_SERVICE_TOKEN ? { revocations: { serviceToken: BASTION_SERVICE_TOKEN } } : {}),
});
await app.listen({ host: '127.0.0.1', port: Number(PORT ?? 4000) });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close());
