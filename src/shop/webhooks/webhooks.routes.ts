/**
 * `POST /webhooks/payments`. Public: the Stripe signature over the raw bytes is the
 * authentication, so this plugin's scope (and only it) parses JSON bodies as raw buffers.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ShopDeps } from '../shop.deps.js';
import { WebhookAck } from './webhooks.schemas.js';
import { handleEvent, verifyEvent } from './webhooks.service.js';

export function webhookRoutes(deps: ShopDeps) {
  return async (app: FastifyInstance) => {
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) =>
      done(null, body),
    );
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/webhooks/payments',
      {
        config: { access: 'public' },
        schema: { tags: ['shop'], response: { 200: WebhookAck } },
      },
      async (request) => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const event = await verifyEvent(deps, raw, request.headers['stripe-signature']);
        await handleEvent(deps, request.log, event);
        return { received: true as const };
      },
    );
  };
}
