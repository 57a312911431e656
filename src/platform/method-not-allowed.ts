/**
 * 405 for a path that exists under other methods (`PUT /admin/audit`), with `Allow` listing
 * them; 404 stays for paths that do not exist at all. Fastify answers both with 404, so the
 * routes are indexed again, by path, in a router of the same kind (find-my-way), consulted only
 * on the not-found path. A catch-all pattern (`*`, such as the CORS plugin's `OPTIONS *` preflight
 * route) says nothing about which paths exist and is left out, else every unknown path would be
 * 405 (issue 14).
 */
import type { FastifyInstance } from 'fastify';
import Router from 'find-my-way';

/** The methods a path is served under, or undefined when no route matches the path. */
export type AllowedMethods = (url: string) => readonly string[] | undefined;

const CATCH_ALL = new Set(['*', '/*']);

export function indexRouteMethods(app: FastifyInstance, maxParamLength: number): AllowedMethods {
  const router = Router({ maxParamLength });
  const methodsByPattern = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    if (CATCH_ALL.has(route.url)) return;
    let methods = methodsByPattern.get(route.url);
    if (!methods) {
      methods = new Set();
      methodsByPattern.set(route.url, methods);
      // One entry per path pattern; the set behind it collects the methods.
      router.on('GET', route.url, () => {}, methods);
    }
    for (const method of [route.method].flat()) methods.add(method);
  });
  return (url) => {
    const path = url.split('?')[0] ?? '/';
    const found = router.find('GET', path);
    return found ? [...(found.store as Set<string>)].sort() : undefined;
  };
}
