/** The invitation page's template (Eta; `<%= %>` escapes). Field names follow DESIGN.md. */

export const ACCEPT_INVITE = `<% layout('@layout') %>
<p>An administrator created an account for you. Choose your password to start using it.</p>
<form method="post" action="/accept-invite">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<input type="hidden" name="token" value="<%= it.token %>">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" aria-describedby="password-help">
<p id="password-help">At least 8 characters; a passphrase of several words is best.</p>
<button type="submit">Set my password</button>
</form>
`;
