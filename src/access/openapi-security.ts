/**
 * The OpenAPI security requirement of a route, from its access declaration: a route that needs a
 * signed-in caller (any role) needs the bearer token. Public routes declare their own scheme in
 * their schema where they have one (the refresh cookie, a service token, a signature).
 */
import type { Access } from './policy.js';

export function openApiSecurity(routeConfig: unknown): Record<string, string[]>[] | undefined {
  const access = (routeConfig as { access?: Access } | undefined)?.access;
  if (access === undefined || access === 'public') return undefined;
  return [{ bearer: [] }];
}
