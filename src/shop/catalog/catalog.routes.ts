/** The catalog: public reads with cursor paging, admin management (DESIGN.md, Shop). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { uuidv7 } from 'uuidv7';
import { platformError } from '../../platform/errors.js';
import type { ShopDeps } from '../shop.routes.js';
import { IdParams, PageQuery, toPage } from '../shop.schemas.js';
import { UPLOAD_BODY_LIMIT } from '../uploads/upload.js';
import { ProductBody, ProductList, ProductPatch, ProductView } from './catalog.schemas.js';
import { productView, setProductImage } from './catalog.service.js';
import {
  deleteProduct,
  findProduct,
  insertProduct,
  listProducts,
  updateProduct,
} from './catalog.store.js';

const admin = { access: { roles: ['admin'] as const } };
const tags = ['shop'];

export function catalogRoutes(deps: ShopDeps) {
  const now = () => new Date(deps.clock.now());
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
        const product = await insertProduct(deps.db, uuidv7(), request.body, now());
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
        const product = await updateProduct(deps.db, request.params.id, request.body, now());
        if (!product) throw platformError('not_found');
        return productView(product);
      },
    );

    // Soft delete: orders keep pointing at the row; the catalog and new orders no longer see it.
    r.delete(
      '/products/:id',
      { config: admin, schema: { tags, params: IdParams } },
      async (request, reply) => {
        const deleted = await deleteProduct(deps.db, request.params.id, now());
        if (!deleted) throw platformError('not_found');
        await deps.media.remove(deleted.image_url);
        return reply.code(204).send();
      },
    );

    r.put(
      '/products/:id/image',
      {
        config: admin,
        bodyLimit: UPLOAD_BODY_LIMIT,
        schema: { tags, params: IdParams, response: { 200: ProductView } },
      },
      async (request) => setProductImage(deps, request, request.params.id),
    );
  };
}
