/**
 * Where a browser lands after signing in: a same-origin relative path only. Anything else
 * (`//evil.example`, `https:evil.example`, `/\evil.example`, a control character the URL parser
 * would drop) is replaced by the default, so no redirect of ours can leave this origin.
 */
export const DEFAULT_RETURN_TO = '/account';

const PROBE_ORIGIN = 'http://bastion.invalid';

function isControl(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f;
}

/** `value` when it is a path on this origin, else `/account`. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) {
    return DEFAULT_RETURN_TO;
  }
  // One leading slash, then no second slash or backslash: browsers read `/\x` like `//x`.
  if (value[0] !== '/' || value[1] === '/' || value[1] === '\\') return DEFAULT_RETURN_TO;
  // Backslashes and control characters are rewritten or dropped by URL parsers.
  if (value.includes('\\') || [...value].some(isControl)) return DEFAULT_RETURN_TO;
  let url: URL;
  try {
    url = new URL(value, PROBE_ORIGIN);
  } catch {
    return DEFAULT_RETURN_TO;
  }
  if (url.origin !== PROBE_ORIGIN) return DEFAULT_RETURN_TO;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** `/login?returnTo=<path>` for a page that needs a login. */
export function loginUrl(returnTo: string): string {
  return `/login?returnTo=${encodeURIComponent(safeReturnTo(returnTo))}`;
}
