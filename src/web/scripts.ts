/**
 * The few same-origin scripts of the hosted pages (the page CSP allows `script-src 'self'` and
 * nothing inline). Each is a convenience; the pages work without them except where noted.
 */
import { createHash } from 'node:crypto';

/**
 * A social login whose account has MFA ends at `/login?mfa=1#mfaToken=…` (the token rides in
 * the fragment, which never reaches a server or a log). This copies it into the MFA form and
 * drops it from the address bar. Without JavaScript that hand-off cannot happen.
 */
const LOGIN_MFA_JS = `(() => {
  const match = /(?:^#|&)mfaToken=([^&]+)/.exec(location.hash);
  const input = document.querySelector('input[name=mfaToken]');
  if (match && input) input.value = decodeURIComponent(match[1]);
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
})();
`;

function asset(path: string, body: string) {
  const version = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return Object.freeze({ path, body, src: `${path}?v=${version}` });
}

export const LOGIN_MFA_SCRIPT = asset('/assets/login-mfa.js', LOGIN_MFA_JS);
