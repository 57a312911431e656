/**
 * The key a client is counted under. `request.ip` is already the socket address, or the
 * X-Forwarded-For hop named by a trusted proxy (Fastify's trustProxy list), never a header a
 * client chose. IPv6 clients are counted per /64: one host usually owns a whole /64 and could
 * otherwise rotate through its addresses.
 */
import { isIPv6 } from 'node:net';

export function clientKey(ip: string): string {
  // Every IPv6 form has a colon; an IPv4 address is its own key (skips isIPv6's regex).
  if (!ip.includes(':') || !isIPv6(ip)) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}
