/**
 * Two-step verification on `/account` (issue 15): the account page's section, the setup page
 * (QR code as a `data:` image, which the pages' CSP `img-src 'self' data:` allows, and the secret
 * as text to copy) and the page that shows recovery codes, once. Every form carries `_csrf`.
 */

/** The account page's section: set up when off; new recovery codes or turn off when on. */
export const MFA_SECTION = `<h2>Two-step verification</h2>
<% if (it.mfa) { %>
<p id="mfa-status">On: signing in asks for a code from your authenticator app (or a recovery code).</p>
<form method="post" action="/account/mfa/recovery-codes">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<label for="regen-code">Code from your authenticator app (or a recovery code)</label>
<input id="regen-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required minlength="6" maxlength="32" aria-describedby="regen-help">
<p id="regen-help">The old recovery codes stop working. Needs a sign-in within the last 5 minutes.</p>
<button type="submit">Regenerate recovery codes</button>
</form>
<form method="post" action="/account/mfa/disable">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<label for="disable-code">Code from your authenticator app (or a recovery code)</label>
<input id="disable-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required minlength="6" maxlength="32" aria-describedby="disable-help">
<p id="disable-help">Every session ends, this one too; sign in again with your password. Needs a sign-in within the last 5 minutes.</p>
<button type="submit" class="secondary">Turn off two-step verification</button>
</form>
<% } else { %>
<p id="mfa-status">Off: a password alone signs in to this account.</p>
<form method="post" action="/account/mfa/setup">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<button type="submit">Set up two-step verification</button>
</form>
<% } %>
`;

/** Setup: scan or type the secret, then confirm with the app's first code. */
export const MFA_SETUP = `<% layout('@layout') %>
<p>Scan this QR code with your authenticator app:</p>
<p><img id="totp-qr" src="data:image/svg+xml;base64,<%= it.qrBase64 %>" alt="QR code that adds this account to your authenticator app" width="200" height="200"></p>
<p>Or type this key into the app:</p>
<p><code id="totp-secret"><%= it.secret %></code></p>
<form method="post" action="/account/mfa/confirm">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<label for="confirm-code">The 6-digit code the app shows</label>
<input id="confirm-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required minlength="6" maxlength="6" pattern="[0-9]{6}">
<button type="submit">Turn on two-step verification</button>
</form>
<p class="links"><a href="/account">Cancel</a></p>
`;

/** New recovery codes, shown this once. */
export const MFA_CODES = `<% layout('@layout') %>
<p>Save these recovery codes somewhere safe now: this page is the only time they are shown. Each one signs you in once when your authenticator app is not at hand.</p>
<ul id="recovery-codes">
<% for (const c of it.codes) { %><li><code><%= c %></code></li><% } %>
</ul>
<p class="links"><a href="/account">Back to your account</a></p>
`;
