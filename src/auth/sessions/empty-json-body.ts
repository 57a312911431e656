/**
 * Issue 18: clients (fetch wrappers, generated SDKs) send `content-type: application/json` on
 * every POST, even the bodiless refresh and logout. Fastify answers an empty JSON body with 400;
 * in the scope this is installed in, an empty body is no body and anything else is parsed by
 * Fastify's own JSON parser (prototype-poisoning protection included).
 */
import type { FastifyInstance } from 'fastify';

export function acceptEmptyJsonBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    void parseJson(request, text, done);
  });
}
