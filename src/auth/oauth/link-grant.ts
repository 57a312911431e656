/**
 * Linking a provider to the signed-in account (issue 16): a short-lived, single-use grant names
 * the account and the session that asked for it. `start?link=<grant>` honours it only in the
 * browser that holds that session's refresh cookie, so a grant URL that leaks (history, a
 * referrer, a shoulder) cannot attach the finder's provider account to the victim's account.
 */
import { randomToken, sha256Hex } from '../../platform/crypto.js';
import type { SharedState } from '../../platform/state/shared-state.js';

export const LINK_GRANT_TTL_SECONDS = 120;

export interface LinkGrant {
  readonly userId: string;
  readonly sessionId: string;
  readonly provider: string;
}

const grantKey = (token: string) => `oauth-link:${sha256Hex(token)}`;

/** A new grant; only its hash is kept in shared state (every instance can honour it). */
export async function issueLinkGrant(state: SharedState, grant: LinkGrant): Promise<string> {
  const token = randomToken();
  await state.set(grantKey(token), JSON.stringify(grant), LINK_GRANT_TTL_SECONDS * 1000);
  return token;
}

/** The grant behind `token`, taken once across every instance; null when unknown or used. */
export async function takeLinkGrant(
  state: SharedState,
  token: string | undefined,
): Promise<LinkGrant | null> {
  if (!token || token.length > 256) return null;
  const key = grantKey(token);
  const stored = await state.get(key);
  if (!stored) return null;
  if (!(await state.setIfAbsent(`${key}:used`, '1', LINK_GRANT_TTL_SECONDS * 1000))) return null;
  await state.del(key);
  return JSON.parse(stored) as LinkGrant;
}

/** Where a browser spends a grant: the provider's start, landing on `returnTo` afterwards. */
export function linkStartPath(provider: string, grant: string, returnTo: string): string {
  const query = new URLSearchParams({ link: grant, returnTo });
  return `/auth/oauth/${provider}/start?${query}`;
}
