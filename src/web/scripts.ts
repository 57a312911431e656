/**
 * The few same-origin scripts of the hosted pages (the page CSP allows `script-src 'self'` and
 * nothing inline). Each is a convenience; the pages work without them except where noted.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

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

/**
 * `@simplewebauthn/browser` as the package ships it for `<script>` tags (it defines
 * `SimpleWebAuthnBrowser`): served from our origin, never a CDN. Its `exports` map hides the
 * bundle, so it is found beside the package's main entry.
 */
function webauthnBundle(): string {
  const main = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return readFileSync(join(dirname(main), '..', 'dist', 'bundle', 'index.umd.min.js'), 'utf8');
}

/**
 * The passkey buttons: "Sign in with a passkey" on /login (the API's discoverable sign-in, which
 * sets the session cookies like a password login) and "Add a passkey" on /account (the page's
 * own JSON routes, authorized by this browser's session and the form's `_csrf`). Both stay
 * hidden without JavaScript or WebAuthn; a refusal shows the API's title and code, as text.
 */
const PASSKEYS_JS = `(() => {
  const lib = window.SimpleWebAuthnBrowser;
  const supported = Boolean(lib && lib.browserSupportsWebAuthn());
  const say = (el, text) => {
    el.textContent = text;
    el.hidden = false;
  };
  const problem = async (res) => {
    try {
      const p = await res.json();
      return p.title + ' (code ' + p.code + ')';
    } catch {
      return 'The request failed (HTTP ' + res.status + ')';
    }
  };
  const post = (url, body) =>
    fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  const failed = (e) => 'The passkey step was cancelled or failed: ' + ((e && e.message) || e);
  for (const el of document.querySelectorAll('[data-passkey-fallback]')) el.hidden = supported;

  const signIn = document.getElementById('passkey-signin');
  if (signIn && supported) {
    const button = signIn.querySelector('button');
    const error = document.getElementById('passkey-error');
    signIn.hidden = false;
    button.addEventListener('click', async () => {
      error.hidden = true;
      button.disabled = true;
      try {
        const options = await post('/auth/passkeys/login/options');
        if (!options.ok) return say(error, await problem(options));
        const response = await lib.startAuthentication({ optionsJSON: await options.json() });
        const res = await post('/auth/passkeys/login/verify', { response });
        if (!res.ok) return say(error, await problem(res));
        location.assign(signIn.dataset.returnTo || '/account');
      } catch (e) {
        say(error, failed(e));
      } finally {
        button.disabled = false;
      }
    });
  }

  const add = document.getElementById('passkey-add');
  if (add && supported) {
    const error = document.getElementById('passkey-add-error');
    const button = add.querySelector('button');
    add.hidden = false;
    add.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      button.disabled = true;
      const _csrf = add.elements._csrf.value;
      const name = add.elements.name.value.trim() || undefined;
      try {
        const options = await post('/account/passkeys/options', { _csrf });
        if (!options.ok) return say(error, await problem(options));
        const response = await lib.startRegistration({ optionsJSON: await options.json() });
        const res = await post('/account/passkeys', { _csrf, name, response });
        if (!res.ok) return say(error, await problem(res));
        location.assign('/account?done=passkey_added');
      } catch (e) {
        say(error, failed(e));
      } finally {
        button.disabled = false;
      }
    });
  }
})();
`;

export const WEBAUTHN_SCRIPT = asset('/assets/webauthn.js', webauthnBundle());
export const PASSKEYS_SCRIPT = asset('/assets/passkeys.js', PASSKEYS_JS);

/** Every script asset, served by pages.ts. */
export const SCRIPTS = [LOGIN_MFA_SCRIPT, WEBAUTHN_SCRIPT, PASSKEYS_SCRIPT];

/** The scripts a page with passkey buttons loads, in order. */
export const PASSKEY_PAGE_SCRIPTS = [WEBAUTHN_SCRIPT.src, PASSKEYS_SCRIPT.src];
