/**
 * A cookie-keeping fetch for clients that are not browsers (Node services, CLIs, tests, mobile
 * runtimes with a fetch but no cookie store): the refresh, CSRF, device and MFA-challenge cookies
 * that Bastion sets come back on the requests they belong to, by tough-cookie's RFC 6265 rules
 * (path, expiry, Secure, host-only). Redirects are followed by fetch itself, so cookies set on a
 * redirect answer are not kept; Bastion's API does not redirect.
 */
import { CookieJar } from 'tough-cookie';

export { CookieJar } from 'tough-cookie';

export interface CookieJarFetch {
  (input: Request | string | URL, init?: RequestInit): Promise<Response>;
  /** The jar (serialize it with `jar.serializeSync()` to keep a session across runs). */
  readonly jar: CookieJar;
}

export function cookieJarFetch(
  options: { jar?: CookieJar; fetch?: (request: Request) => Promise<Response> } = {},
): CookieJarFetch {
  const jar = options.jar ?? new CookieJar();
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const jarFetch = async (input: Request | string | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const cookies = await jar.getCookieString(request.url);
    if (cookies) {
      const own = request.headers.get('cookie');
      request.headers.set('cookie', own ? `${own}; ${cookies}` : cookies);
    }
    const response = await send(request);
    for (const setCookie of response.headers.getSetCookie()) {
      await jar.setCookie(setCookie, request.url, { ignoreError: true });
    }
    return response;
  };
  return Object.assign(jarFetch, { jar });
}
