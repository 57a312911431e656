/**
 * The OpenAPI document as a contract for generated clients (issue 18): it validates against the
 * OpenAPI 3.1 schema; every operation has a unique, stable `operationId`, a summary and a tag;
 * every operation whose route needs a signed-in caller says so in `security`; bodiless answers
 * carry their real status; every error is the shared `Problem`; headers, multipart and raw
 * bodies and the named schemas are there. test/openapi-walk.test.ts proves the answers true.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationIdOf } from '../src/platform/openapi.js';
import { operationDocs } from '../src/platform/openapi-docs.js';
import { createTestApp, type TestContext } from './support/app.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
}, 180_000);
afterAll(async () => ctx?.close());

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema?: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

async function document(): Promise<Record<string, unknown>> {
  return (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
}

async function operations(): Promise<{ method: string; path: string; op: Operation }[]> {
  const doc = await document();
  return Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(
    ([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}

describe('OpenAPI contract', () => {
  it('operation ids read from the method and path', () => {
    expect(operationIdOf('DELETE', '/auth/identities/:id')).toBe('deleteAuthIdentitiesById');
    expect(operationIdOf('GET', '/.well-known/jwks.json')).toBe('getWellKnownJwksJson');
    expect(operationIdOf('POST', '/auth/passkeys/register/options')).toBe(
      'postAuthPasskeysRegisterOptions',
    );
  });

  it('every operation has an operationId, and no two share one', async () => {
    const ops = await operations();
    expect(ops.length).toBeGreaterThan(40);
    expect(ops.filter((o) => !o.op.operationId).map((o) => `${o.method} ${o.path}`)).toEqual([]);
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every operation that needs a signed-in caller declares the bearer scheme', async () => {
    const ops = await operations();
    const byKey = new Map(ops.map((o) => [`${o.method} ${o.path}`, o.op]));
    const missing: string[] = [];
    let guarded = 0;
    for (const route of ctx.app.routeAccess()) {
      if (route.access === undefined || route.access === 'public') continue;
      const op = byKey.get(`${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
      if (!op) continue; // not in the document (the authorization matrix checks those)
      guarded += 1;
      if (!op.security?.some((s) => 'bearer' in s)) missing.push(`${route.method} ${route.url}`);
    }
    expect(guarded).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it('validates against the OpenAPI 3.1 schema, and every $ref names a component', async () => {
    const doc = await document();
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    const dangling = refs
      .map((r) => r.slice(8, -1))
      .filter((r) => !(r.startsWith('#/components/schemas/') && r.slice(21) in schemas));
    expect(dangling).toEqual([]);
  });

  it('every operation has a summary and a tag, from the one table that names them all', async () => {
    const ops = await operations();
    const lacking = ops.filter((o) => !o.op.summary || !o.op.tags?.length);
    expect(lacking.map((o) => `${o.method} ${o.path}`)).toEqual([]);
    // No entry of the table is stale: each names an operation of the document.
    const ids = new Set(ops.map((o) => o.op.operationId));
    expect(Object.keys(operationDocs).filter((id) => !ids.has(id))).toEqual([]);
  });

  it('bodiless answers carry their real status: no 200 beside a 202 or 204', async () => {
    const both = (await operations()).filter(
      (o) => '200' in o.op.responses && ('202' in o.op.responses || '204' in o.op.responses),
    );
    expect(both.map((o) => `${o.method} ${o.path}`)).toEqual([]);
    const byId = new Map((await operations()).map((o) => [o.op.operationId, o.op]));
    for (const id of ['postAuthLogout', 'postAuthPasswordReset', 'deleteUsersMe']) {
      expect(Object.keys(byId.get(id)?.responses ?? {})).toContain('204');
    }
    expect(Object.keys(byId.get('postAuthPasswordForgot')?.responses ?? {})).toContain('202');
  });

  it('every error answer is problem+json with the shared Problem schema and its codes', async () => {
    const wrong: string[] = [];
    for (const { method, path, op } of await operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const schema = response.content?.['application/problem+json']?.schema as
          | { allOf?: [{ $ref?: string }, { properties?: { code?: { enum?: string[] } } }] }
          | undefined;
        const codes = schema?.allOf?.[1]?.properties?.code?.enum ?? [];
        if (schema?.allOf?.[0]?.$ref !== '#/components/schemas/Problem' || codes.length === 0) {
          wrong.push(`${method} ${path} ${status}`);
        }
      }
      // Every operation may be refused by the server itself.
      if (!op.responses['500']) wrong.push(`${method} ${path} lacks 500`);
    }
    expect(wrong).toEqual([]);
    const doc = await document();
    const problem = (doc.components as { schemas: Record<string, { required?: string[] }> }).schemas
      .Problem;
    expect(problem?.required).toEqual(['type', 'title', 'status', 'code', 'requestId']);
  });

  it('the gate, role and route-specific refusals are declared where they apply', async () => {
    const byId = new Map((await operations()).map((o) => [o.op.operationId, o.op]));
    const codes = (id: string, status: number) =>
      JSON.stringify(byId.get(id)?.responses[String(status)] ?? {});
    expect(codes('getAuthMe', 401)).toContain('"unauthorized"');
    expect(codes('getAdminUsers', 403)).toContain('"mfa_enrollment_required"');
    expect(codes('getAdminUsers', 403)).toContain('"forbidden"');
    expect(codes('postAdminUsers', 409)).toContain('"email_taken"');
    expect(codes('postOrders', 402)).toContain('"insufficient_funds"');
    expect(codes('postAuthRegister', 429)).toContain('Retry-After');
    // Public routes have no gate: no 401 they cannot answer.
    expect(byId.get('getProducts')?.responses['401']).toBeUndefined();
  });

  it('headers, cookie security, multipart and raw bodies are described', async () => {
    const byId = new Map((await operations()).map((o) => [o.op.operationId, o.op]));
    const header = (id: string, name: string) =>
      byId.get(id)?.parameters?.find((p) => p.in === 'header' && p.name === name);
    expect(header('postOrders', 'Idempotency-Key')?.required).toBe(true);
    expect(header('postWebhooksPayments', 'Stripe-Signature')?.required).toBe(true);
    expect(byId.get('postAuthRefresh')?.security).toEqual([{ refreshCookie: [], csrfToken: [] }]);
    expect(byId.get('postAuthLogout')?.security).toEqual([
      { bearer: [] },
      { refreshCookie: [], csrfToken: [] },
    ]);
    const doc = await document();
    const schemes = (doc.components as { securitySchemes: Record<string, { name?: string }> })
      .securitySchemes;
    expect(schemes.csrfToken?.name).toBe('X-CSRF-Token');
    for (const id of ['putUsersMeAvatar', 'putProductsByIdImage']) {
      const form = byId.get(id)?.requestBody?.content['multipart/form-data']?.schema;
      expect(form?.required, id).toEqual(['file']);
    }
    expect(
      byId.get('postWebhooksPayments')?.requestBody?.content['application/json'],
    ).toBeDefined();
    expect(byId.get('getMetrics')?.security).toEqual([{ metricsToken: [] }]);
    expect(byId.get('getMediaByName')?.responses['200']?.content?.['image/webp']).toBeDefined();
    expect(byId.get('getAuthRevocations')?.security).toEqual([{ serviceToken: [] }]);
  });

  it('named component schemas stand for the shapes clients share', async () => {
    const doc = await document();
    const text = JSON.stringify(doc.paths);
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
    for (const name of ['User', 'Product', 'Order', 'Problem', 'Session', 'Post', 'Wallet']) {
      expect(schemas[name], name).toBeDefined();
      expect(text, name).toContain(`"#/components/schemas/${name}"`);
    }
  });
});
