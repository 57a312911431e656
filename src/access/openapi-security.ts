/**
 * What the OpenAPI document says of a route's access, from its declaration: a route that needs a
 * signed-in caller (any role) needs the bearer token and may answer the gate's refusals. Public
 * routes declare their own scheme in the document where they have one (the refresh cookie, a
 * service token, a signature).
 */
import type { Access } from './policy.js';

function accessOf(routeConfig: unknown): Access | undefined {
  return (routeConfig as { access?: Access } | undefined)?.access;
}

export function openApiSecurity(routeConfig: unknown): Record<string, string[]>[] | undefined {
  const access = accessOf(routeConfig);
  if (access === undefined || access === 'public') return undefined;
  return [{ bearer: [] }];
}

/**
 * The refusals of the gate (policy.ts) as `"<status> <code>"`: no or a bad token, and for a role
 * gate the wrong role or an administrator whose session passed no second factor.
 */
export function openApiGateErrors(routeConfig: unknown): readonly string[] {
  const access = accessOf(routeConfig);
  if (access === undefined || access === 'public') return [];
  if (access === 'authenticated') return ['401 unauthorized'];
  return ['401 unauthorized', '403 forbidden', '403 mfa_enrollment_required'];
}
