/**
 * The `/account` forms (issue 15), as parts of the account template: display name, email
 * change, password change, session revoke and "log out everywhere", account deletion. Each form
 * POSTs with `_csrf` and works without JavaScript; ids are unique on the page.
 */

/** Under the profile: the display name and the email change. */
export const PROFILE_FORMS = `<form method="post" action="/account/profile">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<label for="displayName">Display name</label>
<input id="displayName" name="displayName" type="text" autocomplete="nickname" required maxlength="100" value="<%= it.user.displayName %>">
<button type="submit">Save display name</button>
</form>
<h2>Email address</h2>
<form method="post" action="/account/email">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<label for="newEmail">New email address</label>
<input id="newEmail" name="newEmail" type="email" autocomplete="email" required maxlength="320">
<label for="email-password">Password</label>
<input id="email-password" name="password" type="password" autocomplete="current-password" required aria-describedby="email-help">
<p id="email-help">We mail a confirmation link to the new address; nothing changes until you open it. Needs a sign-in within the last 5 minutes.</p>
<button type="submit">Change email address</button>
</form>
<h2>Password</h2>
<form method="post" action="/account/password">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<label for="currentPassword">Current password</label>
<input id="currentPassword" name="currentPassword" type="password" autocomplete="current-password" required>
<label for="newPassword">New password</label>
<input id="newPassword" name="newPassword" type="password" autocomplete="new-password" required minlength="8" aria-describedby="new-password-help">
<p id="new-password-help">At least 8 characters; a passphrase of several words is best. Your other sessions are signed out.</p>
<% if (it.mfa) { %>
<label for="code">Code from your authenticator app (or a recovery code)</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required minlength="6" maxlength="32">
<% } %>
<button type="submit">Change password</button>
</form>
`;

/** After the sessions table: end every session, this one included. */
export const SESSIONS_FORMS = `<form method="post" action="/account/logout-all">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<button type="submit" class="secondary">Sign out everywhere</button>
</form>
`;

/** A session row's action: every session but this browser's can be revoked. */
export const SESSION_REVOKE = `<% if (!s.current) { %><form class="inline" method="post" action="/account/sessions/<%= s.id %>/revoke"><input type="hidden" name="_csrf" value="<%= it.csrf %>"><button type="submit" class="secondary" aria-label="Revoke the session of <%= s.userAgent || 'an unknown device' %>, last used <%= s.lastUsedAt %>">Revoke</button></form><% } %>`;

/** Last on the page: account deletion (recent sign-in, the box and the password). */
export const DELETE_FORM = `<h2>Delete my account</h2>
<form method="post" action="/account/delete">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<p id="delete-help">Your profile and sign-in data are erased and every session ends. This cannot be undone. Needs a sign-in within the last 5 minutes.</p>
<label><input type="checkbox" name="confirm" value="yes" required aria-describedby="delete-help"> I want to delete my account for good</label>
<% if (it.hasPassword) { %>
<label for="delete-password">Password</label>
<input id="delete-password" name="password" type="password" autocomplete="current-password" required>
<% } %>
<button type="submit">Delete my account</button>
</form>
`;
