/**
 * Passkeys on `/account` (issue 15): the list with rename and remove forms (no JavaScript needed),
 * and "Add a passkey", which needs WebAuthn and so a script (`/assets/passkeys.js`); without it
 * the page says so. Every form carries `_csrf`.
 */
export const PASSKEY_SECTION = `<h2>Passkeys</h2>
<% if (it.passkeys.length === 0) { %><p>No passkey is registered yet. A passkey signs you in with your device's screen lock, and counts as two-step verification.</p><% } else { %>
<div class="table-wrap">
<table>
<caption>Passkeys that sign you in to this account</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Added (UTC)</th><th scope="col">Last used (UTC)</th><th scope="col">Rename</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>
<% for (const p of it.passkeys) { %>
<tr><td class="passkey-name"><%= p.name %></td><td><%= p.createdAt %></td><td><%= p.lastUsedAt || 'never' %></td>
<td><form class="inline" method="post" action="/account/passkeys/<%= p.id %>/rename"><input type="hidden" name="_csrf" value="<%= it.csrf %>"><label class="visually-hidden" for="passkey-name-<%= p.id %>">New name for <%= p.name %></label><input id="passkey-name-<%= p.id %>" name="name" type="text" required maxlength="64" value="<%= p.name %>"><button type="submit" class="secondary">Rename</button></form></td>
<td><form class="inline" method="post" action="/account/passkeys/<%= p.id %>/remove"><input type="hidden" name="_csrf" value="<%= it.csrf %>"><button type="submit" class="secondary" aria-label="Remove passkey <%= p.name %>">Remove</button></form></td></tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
<form id="passkey-add" hidden>
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<label for="passkey-new-name">Name for the new passkey (optional)</label>
<input id="passkey-new-name" name="name" type="text" maxlength="64" aria-describedby="passkey-add-help">
<p id="passkey-add-help">Needs a sign-in within the last 5 minutes. Your browser asks for your screen lock or security key.</p>
<button type="submit">Add a passkey</button>
<p id="passkey-add-error" class="error" aria-live="assertive" hidden></p>
</form>
<p data-passkey-fallback>Adding a passkey needs JavaScript and a browser that supports passkeys.</p>
`;
