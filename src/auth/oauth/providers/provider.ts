/** What Bastion needs from a social login provider, OIDC or not. */

/** The per-browser secrets of one sign-in, sealed in the flow cookie between start and callback. */
export interface FlowSecrets {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

/** Who the provider says signed in. `issuer` + `subject` is the identity's key. */
export interface ProviderProfile {
  readonly issuer: string;
  readonly subject: string;
  readonly email: string | null;
  /** True only when the provider asserts it (`email_verified: true`, GitHub's `verified`). */
  readonly emailVerified: boolean;
  readonly name: string | null;
  /** The ID token's `amr` (RFC 8176), empty when absent (GitHub: always). */
  readonly amr: readonly string[];
}

export interface SocialProvider {
  /** The lower-case slug in the path (`google`, `github`). */
  readonly name: string;
  /** `amr` values the operator accepts from this provider as a second factor (may be empty). */
  readonly mfaAmr: readonly string[];
  /** Where to send the browser (PKCE S256, state, nonce where the protocol has one). */
  authorizationUrl(flow: FlowSecrets): Promise<URL>;
  /**
   * Redeems the code in `callbackUrl` and returns the validated profile; throws on any protocol
   * or validation failure (the caller answers `oauth_provider_error`).
   */
  exchange(callbackUrl: URL, flow: FlowSecrets): Promise<ProviderProfile>;
}

/** Rejects when `promise` has not settled within `ms` (a provider that hangs must not hold us). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Loopback hosts, where a plain-HTTP issuer is tolerated even in production (DESIGN.md). */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname === '[::1]' ||
    hostname === '::1' ||
    /^127(\.\d{1,3}){3}$/.test(hostname)
  );
}
