/** Templates of the email-change link pages (issue 19; Eta, `<%= %>` escapes). */

export const CONFIRM_EMAIL = `<% layout('@layout') %>
<p>Confirm that your account should use this address from now on. Your other sessions will be signed out, and your previous address will get a link to undo the change.</p>
<form method="post" action="/confirm-email">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<input type="hidden" name="token" value="<%= it.token %>">
<button type="submit">Confirm my new address</button>
</form>
`;

export const REVERT_EMAIL = `<% layout('@layout') %>
<p>If you did not change your account's email address, undo it now. This will:</p>
<ul>
<li>put this address back on your account;</li>
<li>sign out every session, on every device;</li>
<li>block sign-in with the current password and mail you a link to choose a new one.</li>
</ul>
<form method="post" action="/revert-email">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<input type="hidden" name="token" value="<%= it.token %>">
<button type="submit">This was not me: undo the change</button>
</form>
`;
