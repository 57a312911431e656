/**
 * HTTP/1.1 over a raw TCP socket, for requests no well-behaved client would send (bad framing,
 * invalid header bytes, trickled bodies) and for watching when the server cuts a connection.
 */
import net from 'node:net';
import type { App } from '../../src/app.js';

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Listens on an ephemeral loopback port and returns it. */
export async function listenOnLoopback(app: App): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as net.AddressInfo).port;
}

export interface ConnectOptions {
  /** Source address (any 127.x.y.z works on Linux loopback): another client. */
  readonly localAddress?: string;
}

/** Opens a connection; resolves once connected. */
export function connect(port: number, options: ConnectOptions = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: options.localAddress });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      // A reset by the server shows as 'close'; the tests look at that.
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

/** Resolves when the socket is closed (by either side). */
export function closed(socket: net.Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Everything the server sent on `socket` until now and until it closes, as text. */
export function collect(socket: net.Socket): () => string {
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  return () => received;
}

/** Parses the first response in `text`, or undefined while it is incomplete. */
export function parseResponse(text: string): RawResponse | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = text.slice(end + 4, end + 4 + length);
  if (Buffer.byteLength(body, 'latin1') < length) return undefined;
  return { status, headers, body: Buffer.from(body, 'latin1').toString('utf8') };
}

/**
 * Writes `request` (bytes as given, nothing added) on an open connection and resolves with the
 * first response that follows; rejects when the connection closes without one.
 */
export function send(socket: net.Socket, request: string | Buffer): Promise<RawResponse> {
  let received = '';
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      reject(new Error('connection closed without a response: already closed'));
      return;
    }
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const res = parseResponse(received);
      if (!res) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(res);
    };
    const onClose = () => reject(new Error(`connection closed without a response: ${received}`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(request);
  });
}

/** Sends `request` on a new connection, resolves with the first response and closes. */
export async function exchange(
  port: number,
  request: string | Buffer,
  options: ConnectOptions = {},
): Promise<RawResponse> {
  const socket = await connect(port, options);
  try {
    return await send(socket, request);
  } finally {
    socket.destroy();
  }
}
