/**
 * The loopback load balancer of `bench:flood -- --postgres --instances N` (bench/flood.ts): a TCP
 * proxy in its own process that hands each new connection to the next upstream in turn
 * (BENCH_PROXY_UPSTREAMS, comma-separated ports on 127.0.0.1). Bytes pass through untouched, so
 * the clients' X-Forwarded-For reaches Bastion as sent, and Bastion sees 127.0.0.1 as the peer
 * (trusted by TRUST_PROXY=127.0.0.1). Keep-alive connections stay on their upstream, as behind a
 * per-connection balancer. On stop it prints how many connections each upstream got (stderr).
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { announce, onStop } from '../lib/server.js';

const upstreams = (process.env.BENCH_PROXY_UPSTREAMS ?? '')
  .split(',')
  .map(Number)
  .filter((port) => Number.isInteger(port) && port > 0);
if (upstreams.length === 0) throw new Error('BENCH_PROXY_UPSTREAMS: no upstream ports');

const counts = upstreams.map(() => 0);
let next = 0;
const open = new Set<Socket>();

const server = createServer((client) => {
  const index = next++ % upstreams.length;
  counts[index] = (counts[index] ?? 0) + 1;
  const upstream = createConnection({ host: '127.0.0.1', port: upstreams[index] as number });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  open.add(client);
  open.add(upstream);
  const destroy = () => {
    client.destroy();
    upstream.destroy();
    open.delete(client);
    open.delete(upstream);
  };
  client.on('error', destroy).on('close', destroy);
  upstream.on('error', destroy).on('close', destroy);
  client.pipe(upstream).pipe(client);
});

server.listen(0, '127.0.0.1', () => {
  announce((server.address() as { port: number }).port);
});

onStop(async () => {
  process.stderr.write(
    `  proxy: connections per upstream ${upstreams.map((p, i) => `${p}=${counts[i]}`).join(' ')}\n`,
  );
  for (const socket of open) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
