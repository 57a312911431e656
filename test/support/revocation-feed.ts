/** The revocation feed (issue 18) as a relying service sees it: service tokens and an SSE reader. */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { App } from '../../src/app.js';

export const SERVICE_TOKEN_A = `svc-a-${'k'.repeat(40)}`;
export const SERVICE_TOKEN_B = `svc-b-${'q'.repeat(40)}`;
export const SERVICE_ENV = { SERVICE_TOKENS: `${SERVICE_TOKEN_A},${SERVICE_TOKEN_B}` };

export interface FeedItem {
  sessionId?: string;
  userId?: string;
  until: string;
}

export interface FeedEvent {
  id: string | undefined;
  event: string | undefined;
  data: { items: FeedItem[]; cursor: string };
}

export interface SseReader {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly events: FeedEvent[];
  readonly comments: string[];
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>;
  items(): FeedItem[];
  close(): void;
}

/** Starts listening on a loopback port (once) and returns the base URL. */
export async function listenOnce(app: App): Promise<string> {
  const address = app.server.address();
  if (address && typeof address === 'object') return `http://127.0.0.1:${address.port}`;
  return app.listen({ port: 0, host: '127.0.0.1' });
}

/** Opens `GET /auth/revocations` as an event stream and collects what arrives. */
export function openFeedStream(baseUrl: string, token: string, since?: string): Promise<SseReader> {
  const url = new URL('/auth/revocations', baseUrl);
  if (since) url.searchParams.set('since', since);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const events: FeedEvent[] = [];
      const comments: string[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
      });
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else {
              const colon = line.indexOf(':');
              fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
            }
          }
          if (fields.data !== undefined)
            events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        ended,
        items: () => events.flatMap((e) => e.data.items),
        close: () => req.destroy(),
      });
    });
    req.end();
  });
}
