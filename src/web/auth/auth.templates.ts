/** Templates of the sign-in pages (Eta; `<%= %>` escapes). Field names follow DESIGN.md. */

export const LOGIN = `<% layout('@layout') %>
<form method="post" action="/login">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<input type="hidden" name="returnTo" value="<%= it.returnTo %>">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="320" value="<%= it.email %>">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<div id="passkey-signin" data-return-to="<%= it.returnTo %>" hidden>
<button type="button" class="secondary">Sign in with a passkey</button>
<p id="passkey-error" class="error" aria-live="assertive" hidden></p>
</div>
<% if (it.providers && it.providers.length > 0) { %>
<ul class="providers" aria-label="Other ways to sign in">
<% for (const p of it.providers) { %><li><a class="button" href="<%= p.href %>">Sign in with <%= p.label %></a></li><% } %>
</ul>
<% } %>
<p class="links"><a href="/forgot-password">Forgot your password?</a><br><a href="/register">Create an account</a></p>
`;

export const LOGIN_MFA = `<% layout('@layout') %>
<p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
<form method="post" action="/auth/login/mfa/page">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<input type="hidden" name="returnTo" value="<%= it.returnTo %>">
<input type="hidden" name="mfaToken" value="<%= it.mfaToken %>">
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required minlength="6" maxlength="32">
<button type="submit">Verify</button>
</form>
<p class="links"><a href="/login">Start again</a></p>
`;

export const REGISTER = `<% layout('@layout') %>
<form method="post" action="/register">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="320" value="<%= it.email %>">
<label for="displayName">Display name</label>
<input id="displayName" name="displayName" type="text" autocomplete="nickname" required maxlength="100" value="<%= it.displayName %>">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" aria-describedby="password-help">
<p id="password-help">At least 8 characters; a passphrase of several words is best.</p>
<button type="submit">Create account</button>
</form>
<p class="links"><a href="/login">Already have an account? Sign in</a></p>
`;

export const VERIFY_EMAIL = `<% layout('@layout') %>
<p>To confirm that this address is yours, enter the password you chose when you registered.</p>
<form method="post" action="/verify-email">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<input type="hidden" name="token" value="<%= it.token %>">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Verify my address</button>
</form>
`;

export const FORGOT = `<% layout('@layout') %>
<p>Enter your account's address: we will mail you a link to choose a new password.</p>
<form method="post" action="/forgot-password">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="320">
<button type="submit">Send the link</button>
</form>
<p class="links"><a href="/login">Back to sign in</a></p>
`;

export const RESET = `<% layout('@layout') %>
<form method="post" action="/reset-password">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<input type="hidden" name="token" value="<%= it.token %>">
<label for="newPassword">New password</label>
<input id="newPassword" name="newPassword" type="password" autocomplete="new-password" required minlength="8">
<button type="submit">Set the new password</button>
</form>
`;

export const SECURE_ACCOUNT = `<% layout('@layout') %>
<p>If you did not sign in or change anything, secure your account now. This will:</p>
<ul>
<li>sign out every session, on every device;</li>
<li>block sign-in with the current password until you choose a new one;</li>
<li>mail you a link to choose a new password.</li>
</ul>
<form method="post" action="/secure-account">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<input type="hidden" name="token" value="<%= it.token %>">
<button type="submit">This was not me: secure my account</button>
</form>
`;

/** A page that only says what happened and links onwards. */
export const MESSAGE = `<% layout('@layout') %>
<% for (const p of it.paragraphs) { %><p><%= p %></p><% } %>
<% if (it.steps && it.steps.length > 0) { %><ol><% for (const s of it.steps) { %><li><%= s %></li><% } %></ol><% } %>
<p class="links"><a href="<%= it.next.href %>"><%= it.next.label %></a></p>
`;
