/** Posts and comments (issue 7): sanitized HTML, author edits, author/moderator/admin deletes. */
import type { FastifyInstance } from 'fastify';
import type { ShopDeps } from '../shop.routes.js';

export function postRoutes(_deps: ShopDeps) {
  return async (_app: FastifyInstance) => {};
}
