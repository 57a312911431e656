/**
 * The attacker of bench/flood.ts, in its own process so its load generation does not delay the
 * legitimate user's measurements: autocannon, N connections, each request a wrong-password login
 * for a random account from a random X-Forwarded-For address. Prints one `FLOOD_RESULT {json}`.
 */
import { randomInt } from 'node:crypto';
import autocannon from 'autocannon';
import {
  type FloodOptions,
  type FloodResult,
  RESULT_PREFIX,
  STARTED_LINE,
} from './flood-protocol.js';

const options = JSON.parse(process.argv[2] ?? '{}') as FloodOptions;
// 10.x.y.z, fixed per index so the pool really is `addresses` clients.
const addresses = Array.from(
  { length: options.addresses },
  (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 1}`,
);

process.stdout.write(`${STARTED_LINE}\n`);
const result = await autocannon({
  url: options.origin,
  connections: options.connections,
  duration: options.seconds,
  timeout: 10,
  requests: [
    {
      method: 'POST',
      path: '/auth/login',
      setupRequest: (req) => {
        const email =
          Math.random() < options.victimShare
            ? options.victim
            : `stuffed-${randomInt(options.accounts)}@flood.invalid`;
        return {
          ...req,
          headers: {
            'content-type': 'application/json',
            'x-forwarded-for': addresses[randomInt(addresses.length)] as string,
          },
          body: JSON.stringify({ email, password: `guess-${randomInt(1e9)}-not-it` }),
        };
      },
    },
  ],
});

const statuses: Record<string, number> = {};
for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
  statuses[code] = (stat as { count: number }).count;
}
const out: FloodResult = {
  requests: result.requests.total,
  seconds: result.duration,
  statuses,
  socketErrors: result.errors,
  timeouts: result.timeouts,
};
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(out)}\n`);
