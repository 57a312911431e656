/**
 * The OpenAPI document proved true by a walk (issue 18): every operation is driven against a
 * live app (without credentials, as its owner, as another user and as an admin, with a body the
 * route refuses, with broken JSON and with a foreign content type, plus the flows a generic
 * request cannot reach: refresh without its CSRF header, the metrics scrape, a stored image and
 * its revalidation, a good webhook), and every answer is recorded by an onSend hook as
 * (method, route, status, problem code). Each one must be declared for its operation, the code
 * in that status's `code` enum: an answer the document does not declare fails the test.
 */
import type { FastifyReply, FastifyRequest, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/platform/clock.js';
import { type Actor, createAdmin } from './support/actors.js';
import { createTestApp, type TestContext } from './support/app.js';
import { cookieHeader } from './support/auth.js';
import { solidImage } from './support/images.js';
import { freshCode, SETUP_TIMEOUT_MS } from './support/mfa.js';
import { imageUpload } from './support/multipart.js';
import { CASES, type Case } from './support/route-cases.js';
import { deliver, paymentEvent, WEBHOOK_SECRET } from './support/shop.js';
import { CALLERS, type Caller, World } from './support/world.js';

const METRICS_TOKEN = 'walk-metrics-token-0123456789';
const SERVICE_TOKEN = 'walk-service-token-0123456789abcdef';

interface Answer {
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly code: string | undefined;
}
interface Response {
  readonly description?: string;
  readonly content?: Record<string, { schema?: { allOf?: { properties?: Json }[] } }>;
}
type Json = Record<string, unknown>;
interface Operation {
  readonly operationId: string;
  readonly responses: Record<string, Response>;
  readonly requestBody?: unknown;
}

let ctx: TestContext;
let world: World;
let doc: { paths: Record<string, Record<string, Operation>> };
const answers: Answer[] = [];
const clock = manualClock();

/** Records every answer of a routed request (pages included; only documented ones are judged). */
async function record(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  const route = request.routeOptions.url;
  if (route === undefined) return payload;
  let code: string | undefined;
  const type = String(reply.getHeader('content-type') ?? '');
  if (type.startsWith('application/problem+json') && typeof payload === 'string') {
    code = (JSON.parse(payload) as { code?: string }).code;
  }
  answers.push({ method: request.method, route, status: reply.statusCode, code });
  return payload;
}

beforeAll(async () => {
  ctx = await createTestApp({
    env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, METRICS_TOKEN, SERVICE_TOKENS: SERVICE_TOKEN },
    deps: { clock },
    beforeReady: (app) => {
      app.addHook('onSend', record);
    },
  });
  world = new World(ctx.app, ctx.database.db, clock);
  doc = (await ctx.app.inject({ url: '/openapi.json' })).json();
}, SETUP_TIMEOUT_MS);
afterAll(async () => {
  await ctx?.close();
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })),
  );

/** A concrete URL for a documented path: made-up ids (the case builder gives real ones). */
const concrete = (path: string) =>
  path
    .replace('{provider}', 'nowhere')
    .replace('{name}', '0000000000000000.webp')
    .replace(/\{\w+\}/g, '0190a0b0-0000-7000-8000-000000000000');

type Variant = 'as-built' | 'unknown-id' | 'unknown-field' | 'broken-json' | 'text-body';

async function drive(
  method: string,
  path: string,
  c: Case | undefined,
  caller: Caller,
  variant: Variant,
): Promise<void> {
  const owner = method === 'GET' ? await world.actor('owner') : await world.fresh('owner');
  let actor: Actor | undefined;
  if (caller === 'owner') actor = owner;
  else if (caller !== 'anonymous') {
    actor = method === 'GET' ? await world.actor(caller) : await world.fresh(caller);
  }
  const built = (await c?.build?.({ world, owner, caller: actor })) ?? {};
  const headers: Record<string, string> = {
    ...(built.headers as Record<string, string>),
    ...actor?.headers,
  };
  let payload = built.payload;
  if (variant === 'unknown-field') {
    headers['content-type'] = 'application/json';
    const base = typeof payload === 'object' && payload !== null ? payload : {};
    payload = JSON.stringify({ ...base, notAField: true });
  } else if (variant === 'broken-json') {
    headers['content-type'] = 'application/json';
    payload = '{"broken": ';
  } else if (variant === 'text-body') {
    headers['content-type'] = 'text/plain';
    payload = 'plain text';
  }
  await ctx.app.inject({
    method: method as InjectOptions['method'],
    url: variant === 'unknown-id' ? concrete(path) : (built.url ?? concrete(path)),
    payload,
    headers,
  } as InjectOptions);
}

/** The `code` enum of a problem answer. */
function declaredCodes(response: Response): string[] {
  const schema = response.content?.['application/problem+json']?.schema;
  const code = schema?.allOf?.[1]?.properties?.code as { enum?: string[] } | undefined;
  return code?.enum ?? [];
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

describe('the OpenAPI document is what the app answers', () => {
  it('every answer of a walk over every operation is declared, with its code', async () => {
    for (const { method, path } of operations()) {
      const c = CASES[`${method} ${path}`];
      // The callers that reach the handler: the owner, another user, an admin.
      for (const caller of ['anonymous', 'owner', 'other', 'admin'] as const) {
        await drive(method, path, c, caller, 'as-built');
      }
      // The first caller the contract lets through, so that the body reaches its schema.
      const index = c
        ? CALLERS.findIndex((k, i) => k !== 'anonymous' && (c.expect[i] ?? 0) < 300)
        : -1;
      const allowed = index > 0 ? (CALLERS[index] as Caller) : 'owner';
      if (path.includes('{')) await drive(method, path, c, allowed, 'unknown-id');
      if (!BODY_METHODS.has(method)) continue;
      for (const variant of ['unknown-field', 'broken-json', 'text-body'] as const) {
        await drive(method, path, c, allowed, variant);
      }
    }
    await flowsAGenericRequestCannotReach();

    const judged = answers.filter((a) => doc.paths[openApiPath(a.route)] !== undefined);
    const undeclared = new Set<string>();
    for (const a of judged) {
      const path = openApiPath(a.route);
      const op = doc.paths[path]?.[a.method.toLowerCase()];
      if (!op) continue; // HEAD beside a GET
      const response = op.responses[String(a.status)];
      const label = `${a.method} ${path} → ${a.status}${a.code ? ` ${a.code}` : ''}`;
      if (!response) undeclared.add(label);
      else if (a.status >= 400 && !declaredCodes(response).includes(a.code ?? '(no code)')) {
        undeclared.add(label);
      }
    }
    expect([...undeclared].sort()).toEqual([]);

    // The walk reached every operation, and most of them with a success.
    const seen = new Set(judged.map((a) => `${a.method} ${openApiPath(a.route)}`));
    const missed = operations().filter((o) => !seen.has(`${o.method} ${o.path}`));
    expect(missed).toEqual([]);
    const succeeded = new Set(
      judged.filter((a) => a.status < 300).map((a) => `${a.method} ${openApiPath(a.route)}`),
    );
    expect(succeeded.size).toBeGreaterThan(operations().length * 0.75);
    const pairs = new Set(judged.map((a) => `${a.method} ${a.route} ${a.status} ${a.code}`));
    console.info(
      `openapi walk: ${judged.length} answers, ${pairs.size} distinct (operation, status, code), ` +
        `${succeeded.size}/${operations().length} operations answered a success; refusals only: ` +
        operations()
          .map((o) => `${o.method} ${o.path}`)
          .filter((k) => !succeeded.has(k))
          .join(', '),
    );
  }, 600_000);

  it('the walk judges: an answer the document does not declare is caught', () => {
    const op = doc.paths['/auth/logout']?.post as Operation;
    expect(op.responses['200']).toBeUndefined();
    expect(op.responses['204']).toBeDefined();
    expect(declaredCodes(op.responses['401'] as Response)).toContain('unauthorized');
    expect(declaredCodes(op.responses['401'] as Response)).not.toContain('invalid_credentials');
  });
});

const openApiPath = (route: string) => route.replace(/:(\w+)/g, '{$1}');

/** Answers that need a cookie, a token or a stored object no case builds. */
async function flowsAGenericRequestCannotReach(): Promise<void> {
  const app = ctx.app;
  // Refresh: the cookie without its CSRF header (403), then with it (200); logout likewise.
  const { cookie, csrfToken: csrf } = await world.fresh('owner');
  await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie } });
  const refreshed = await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { cookie, 'x-csrf-token': csrf },
  });
  const next = cookieHeader(refreshed.headers['set-cookie']);
  const nextCsrf = (refreshed.json() as { csrfToken: string }).csrfToken;
  // The first cookie again, outside the grace window: reuse.
  clock.advance(60_000);
  await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { cookie, 'x-csrf-token': csrf },
  });
  await app.inject({
    method: 'POST',
    url: '/auth/logout',
    headers: { cookie: next, 'x-csrf-token': nextCsrf },
  });
  // An account with TOTP: regenerate its recovery codes, then turn MFA off.
  const admin = await createAdmin(app, ctx.database.db, clock);
  await app.inject({
    method: 'POST',
    url: '/auth/mfa/recovery-codes',
    headers: admin.headers,
    payload: { code: freshCode(admin.totpSecret, clock) },
  });
  await app.inject({
    method: 'DELETE',
    url: '/auth/mfa/totp',
    headers: admin.headers,
    payload: { code: freshCode(admin.totpSecret, clock) },
  });
  // The revocation feed with a service token: a page, and a cursor that is not one.
  const service = { authorization: `Bearer ${SERVICE_TOKEN}` };
  await app.inject({ url: '/auth/revocations', headers: service });
  await app.inject({ url: '/auth/revocations?since=not-a-cursor', headers: service });
  // Metrics: no token, a wrong one, the right one.
  await app.inject({ url: '/metrics' });
  await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong-token-1234567' } });
  await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  // A stored image, then its revalidation; an upload that is not an image.
  const uploader = await world.fresh('owner');
  const upload = imageUpload(await solidImage(32, 32));
  const avatar = await app.inject({
    method: 'PUT',
    url: '/users/me/avatar',
    headers: { ...uploader.headers, ...upload.headers },
    payload: upload.payload,
  });
  const url = (avatar.json() as { avatarUrl: string }).avatarUrl;
  const image = await app.inject({ url });
  await app.inject({ url, headers: { 'if-none-match': String(image.headers.etag) } });
  const notImage = imageUpload(Buffer.from('not an image at all'), 'a.png');
  await app.inject({
    method: 'PUT',
    url: '/users/me/avatar',
    headers: { ...uploader.headers, ...notImage.headers },
    payload: notImage.payload,
  });
  // A signed payment webhook (at the app's clock, which enrolments moved), and a bad signature.
  const event = paymentEvent(uploader.userId, 500);
  await deliver(app, event, { timestamp: Math.floor(clock.now() / 1000) });
  await deliver(app, event, { signature: 't=1,v1=00' });
}
