/** The catalog: public reads with cursor paging, admin management (DESIGN.md, Shop). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import { platformError } from '../../platform/errors.js';
import { UPLOAD_BODY_LIMIT, uploadRoutes } from '../../platform/media/upload.js';
import { perUser } from '../../platform/rate-limit/rate-limits.js';
import type { ShopDeps } from '../shop.deps.js';
import { IdParams, PageQuery, toPage } from '../shop.schemas.js';
import { ProductBody, ProductList, ProductPatch, ProductView } from './catalog.schemas.js';
import {
  type CatalogActor,
  createProduct,
  patchProduct,
  productView,
  removeProduct,
  setProductImage,
} from './catalog.service.js';
import { findProduct, listProducts } from './catalog.store.js';

const admin = { access: { roles: ['admin'] as const } };
const tags = ['shop'];

function actorOf(request: FastifyRequest): CatalogActor {
  return { principal: principalOf(request), ip: request.ip, log: request.log };
}

export function catalogRoutes(deps: ShopDeps) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/products',
      {
        config: { access: 'public' },
        schema: { tags, querystring: PageQuery, response: { 200: ProductList } },
      },
      async (request) => {
        const { limit, cursor } = request.query;
        return toPage(await listProducts(deps.db, limit + 1, cursor), limit, productView);
      },
    );

    r.get(
      '/products/:id',
      {
        config: { access: 'public' },
        schema: { tags, params: IdParams, response: { 200: ProductView } },
      },
      async (request) => {
        const product = await findProduct(deps.db, request.params.id);
        if (!product) throw platformError('not_found');
        return productView(product);
      },
    );

    r.post(
      '/products',
      { config: admin, schema: { tags, body: ProductBody, response: { 201: ProductView } } },
      async (request, reply) => {
        const product = await createProduct(deps, actorOf(request), request.body);
        return reply
          .code(201)
          .header('location', `/products/${product.id}`)
          .send(productView(product));
      },
    );

    r.patch(
      '/products/:id',
      {
        config: admin,
        schema: { tags, params: IdParams, body: ProductPatch, response: { 200: ProductView } },
      },
      async (request) => {
        const { id } = request.params;
        return productView(await patchProduct(deps, actorOf(request), id, request.body));
      },
    );

    r.delete(
      '/products/:id',
      { config: admin, schema: { tags, params: IdParams } },
      async (request, reply) => {
        await removeProduct(deps, actorOf(request), request.params.id);
        return reply.code(204).send();
      },
    );

    await uploadRoutes(app, (scope) => {
      scope.withTypeProvider<ZodTypeProvider>().put(
        '/products/:id/image',
        {
          config: admin,
          // Counted per account like every upload: each one is a decode and a re-encode.
          preHandler: [perUser(deps.limits.uploads)],
          bodyLimit: UPLOAD_BODY_LIMIT,
          schema: { tags, params: IdParams, response: { 200: ProductView } },
        },
        async (request) => setProductImage(deps, actorOf(request), request, request.params.id),
      );
    });
  };
}
