/**
 * The OpenAPI 3.1 document generated from the routes' zod schemas, and a Swagger UI viewer that
 * runs under the strict CSP (its page loads only same-origin scripts and styles).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
} from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { finishDocument, type RouteFacts, securitySchemes } from './openapi-docs.js';

/** What the document says of a route's callers; the caller's policy decides (see app.ts). */
export type SecurityOf = (routeConfig: unknown) => Record<string, string[]>[] | undefined;

/** How the caller's policy describes routes in the document (see access/openapi-security.ts). */
export interface OpenApiAccess {
  /** The security requirement of a route, from its config. */
  readonly securityOf: SecurityOf;
  /** The gate's refusals for a route, as `"<status> <code>"`. */
  readonly gateErrorsOf: (routeConfig: unknown) => readonly string[];
  /** Named component schemas: zod schemas with the `id` the document gives them. */
  readonly components?: z.core.$ZodRegistry<{ id: string }>;
}

/**
 * A stable operation id from the method and the path, for generated clients:
 * `DELETE /auth/identities/{id}` → `deleteAuthIdentitiesById`.
 */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .split('/')
    .filter(Boolean)
    .flatMap((segment) => {
      const param = /^[:{](\w+)}?$/.exec(segment)?.[1];
      const word = param ? `by-${param}` : segment;
      return word.split(/[^A-Za-z0-9]+/).filter(Boolean);
    });
  const pascal = words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return `${method.toLowerCase()}${pascal}`;
}

/**
 * Registers the document and its viewer. `declareAccess` gives their routes an access
 * declaration (the caller passes access's `markScopePublic`), and `access` how a route's config
 * reads in the document: the platform knows no policy. Every operation gets an `operationId`
 * and, unless its schema says otherwise, the security its access needs; openapi-docs.ts then
 * adds summaries, tags, error answers, headers and bodies. The document is built once, on its
 * first request, and cached by @fastify/swagger.
 */
export async function registerOpenApi(
  app: FastifyInstance,
  publicUrl: string,
  declareAccess: (scope: FastifyInstance) => void,
  access: OpenApiAccess = { securityOf: () => undefined, gateErrorsOf: () => [] },
): Promise<void> {
  const registry = access.components;
  const transformRoute = createJsonSchemaTransform(registry ? { schemaRegistry: registry } : {});
  const transformDocument = createJsonSchemaTransformObject(
    registry ? { schemaRegistry: registry } : {},
  );
  // What each operation's route says of itself, read while the paths are built.
  let facts = new Map<string, RouteFacts>();
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Bastion',
        description: 'Self-hosted auth server and protected shop API',
        version: '0.1.0',
      },
      servers: [{ url: publicUrl }],
      components: { securitySchemes },
    },
    transform: (input) => {
      const out = transformRoute(input);
      const schema = { ...(out.schema as Record<string, unknown>) };
      const method = [input.route.method].flat()[0] ?? 'GET';
      schema.operationId ??= operationIdOf(method, input.url);
      const operationId = schema.operationId as string;
      schema.security ??= access.securityOf(input.route.config);
      if (schema.security === undefined) delete schema.security;
      const config = input.route.config as { exemptFromRateLimit?: boolean } | undefined;
      facts.set(operationId, {
        gateErrors: access.gateErrorsOf(input.route.config),
        rateLimited: config?.exemptFromRateLimit !== true,
      });
      return { ...out, schema };
    },
    transformObject: (input) => {
      const document = finishDocument(transformDocument(input), facts);
      facts = new Map();
      return document;
    },
  });

  await app.register(async (scope) => {
    declareAccess(scope);
    // The viewer is a page for browsers: it gets the page headers and CSP (security-headers.ts).
    scope.addHook('onRoute', (route) => {
      if (route.url.startsWith('/docs')) route.config = { ...route.config, page: true };
    });
    await scope.register(swaggerUi, {
      routePrefix: '/docs',
      // Our own CSP header applies; the plugin must not add inline-script allowances.
      staticCSP: false,
      // BaseLayout: the standalone layout's top bar draws a logo SVG carrying an inline <style>,
      // which `style-src 'self'` (rightly) blocks.
      uiConfig: { deepLinking: false, layout: 'BaseLayout' },
    });
    scope.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });
}
