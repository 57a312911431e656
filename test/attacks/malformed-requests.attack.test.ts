/**
 * Issue 14 item 7: router- and parser-level errors bypassed the contract (`GET /posts/%3C…%`
 * answered Fastify's raw FST_ERR_BAD_URL JSON, without our headers, uncounted). Every response
 * of the server, whatever produced it, is problem+json with the API security headers, and is
 * counted against the per-IP limit. Sent over a raw socket: no real client would send these.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_CONTENT_SECURITY_POLICY } from '../../src/platform/security-headers.js';
import { createTestApp, type TestContext } from '../support/app.js';
import { exchange, listenOnLoopback, type RawResponse } from '../support/raw-http.js';

const GLOBAL_LIMIT = 12;
const HOST = 'Host: 127.0.0.1\r\n';

/** Each one a request line and headers (and a body) that must be refused as `bad_request`. */
const MALFORMED: [string, string][] = [
  ['bad percent-encoding in the path', `GET /posts/%3Cscript% HTTP/1.1\r\n${HOST}\r\n`],
  ['a lone % in the path', `GET /users/% HTTP/1.1\r\n${HOST}\r\n`],
  // Framing errors in a body: the request is already routed (and counted by its hooks).
  [
    'an invalid chunk size',
    `POST /auth/login HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
  ],
  [
    'a chunk longer than announced',
    `POST /auth/login HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{}\r\n0\r\n\r\n`,
  ],
  [
    'a path parameter over the maximum length',
    `GET /users/${'a'.repeat(300)} HTTP/1.1\r\n${HOST}\r\n`,
  ],
  [
    'a non-numeric Content-Length',
    `POST /auth/login HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`,
  ],
  [
    'a negative Content-Length',
    `POST /auth/login HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: -1\r\n\r\n{}`,
  ],
  [
    'two different Content-Lengths',
    `POST /auth/login HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
  ],
  [
    'Content-Length together with chunked',
    `POST /auth/login HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
  ],
  [
    'a control character in a header value',
    `GET /health/live HTTP/1.1\r\n${HOST}X-Note: a\u0001b\r\n\r\n`,
  ],
  ['a space in a header name', `GET /health/live HTTP/1.1\r\n${HOST}Bad Name: x\r\n\r\n`],
  ['a header line without a colon', `GET /health/live HTTP/1.1\r\n${HOST}nocolon\r\n\r\n`],
  ['a garbage request line', `NOT AN HTTP REQUEST\r\n\r\n`],
];

let ctx: TestContext;
let port: number;
beforeAll(async () => {
  ctx = await createTestApp();
  port = await listenOnLoopback(ctx.app);
});
afterAll(async () => {
  await ctx?.close();
});

function expectApiHeaders(res: RawResponse): void {
  expect(res.headers['content-security-policy']).toBe(API_CONTENT_SECURITY_POLICY);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
  expect(res.headers['cache-control']).toBe('no-store');
}

function expectProblem(res: RawResponse, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: `urn:bastion:problem:${code}` });
  expect(String(body.requestId)).toMatch(/^[0-9a-f-]{36}$/);
  expect(Object.keys(body).sort()).toEqual(['code', 'requestId', 'status', 'title', 'type']);
  expectApiHeaders(res);
}

describe('attack: malformed requests', () => {
  it('a well-formed request is served (control)', async () => {
    const res = await exchange(port, `GET /health/live HTTP/1.1\r\n${HOST}\r\n`);
    expect(res.status).toBe(200);
    expectApiHeaders(res);
  });

  it.each(MALFORMED)('%s: 400 bad_request, problem+json with the API headers', async (_, raw) => {
    const res = await exchange(port, raw);
    expectProblem(res, 400, 'bad_request');
    expect(res.body).not.toMatch(/FST_|HPE_|Bad Request"|statusCode/);
  });

  it('a body shorter than its Content-Length (inject) is 400 bad_request', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/json', 'content-length': '100' },
      payload: '{}',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('bad_request');
    expect(res.headers['content-security-policy']).toBe(API_CONTENT_SECURITY_POLICY);
  });

  it('the malformed request is logged without its junk being echoed to the client', async () => {
    const res = await exchange(port, `GET /posts/%3Cscript% HTTP/1.1\r\n${HOST}\r\n`);
    const { requestId } = JSON.parse(res.body) as { requestId: string };
    expect(res.body).not.toContain('script');
    expect(ctx.logs.some((l) => l.requestId === requestId && l.status === 400)).toBe(true);
  });
});

describe('attack: a burst of malformed requests is rate limited', () => {
  let limited: TestContext;
  let limitedPort: number;
  beforeAll(async () => {
    limited = await createTestApp({
      database: ctx.database,
      env: { RATE_LIMIT_GLOBAL_PER_MINUTE: String(GLOBAL_LIMIT) },
    });
    limitedPort = await listenOnLoopback(limited.app);
  });
  afterAll(async () => {
    await limited?.close();
  });

  it('malformed requests count against RATE_LIMIT_GLOBAL_PER_MINUTE and are refused with 429', async () => {
    // From another loopback address, so the control request below has its own budget.
    const attacker = { localAddress: '127.0.0.2' };
    const statuses: number[] = [];
    for (let i = 0; i < GLOBAL_LIMIT + MALFORMED.length; i++) {
      const [, raw] = MALFORMED[i % MALFORMED.length] as [string, string];
      const res = await exchange(limitedPort, raw, attacker);
      statuses.push(res.status);
      if (res.status === 429) {
        expectProblem(res, 429, 'rate_limited');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      } else {
        expectProblem(res, 400, 'bad_request');
      }
    }
    expect(statuses.slice(0, GLOBAL_LIMIT)).toEqual(Array(GLOBAL_LIMIT).fill(400));
    // Every kind of malformed request, routed or refused by the parser, is answered 429 now.
    expect(statuses.slice(GLOBAL_LIMIT)).toEqual(Array(MALFORMED.length).fill(429));

    // The budget the malformed ones spent is the one ordinary requests use.
    const ordinary = await exchange(
      limitedPort,
      `GET /no/such/route HTTP/1.1\r\n${HOST}\r\n`,
      attacker,
    );
    expectProblem(ordinary, 429, 'rate_limited');

    // Another client is not affected.
    const other = await exchange(limitedPort, `GET /no/such/route HTTP/1.1\r\n${HOST}\r\n`);
    expectProblem(other, 404, 'not_found');
  });
});
