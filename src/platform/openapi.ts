/**
 * The OpenAPI 3.1 document generated from the routes' zod schemas, and a Swagger UI viewer that
 * runs under the strict CSP (its page loads only same-origin scripts and styles).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

/**
 * Registers the document and its viewer. `declareAccess` gives their routes an access
 * declaration (the caller passes access's `markScopePublic`): the platform knows no policy.
 */
export async function registerOpenApi(
  app: FastifyInstance,
  publicUrl: string,
  declareAccess: (scope: FastifyInstance) => void,
): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Bastion',
        description: 'Self-hosted auth server and protected shop API',
        version: '0.1.0',
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
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
