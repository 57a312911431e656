/** The account page (first part of issue 15: who is signed in, sessions, log out). */

export const ACCOUNT = `<% layout('@layout') %>
<h2>Profile</h2>
<dl>
<dt>Display name</dt><dd id="display-name"><%= it.user.displayName %></dd>
<dt>Email</dt><dd><%= it.user.email %></dd>
</dl>
<h2>Sessions</h2>
<div class="table-wrap">
<table>
<caption>Your signed-in sessions, newest first</caption>
<thead><tr><th scope="col">Device (user agent)</th><th scope="col">IP address</th><th scope="col">Last used (UTC)</th><th scope="col">Signed in (UTC)</th></tr></thead>
<tbody>
<% for (const s of it.sessions) { %>
<tr><td class="agent"><%= s.userAgent || 'unknown' %><% if (s.current) { %> <strong>(this device)</strong><% } %></td><td><%= s.ip || 'unknown' %></td><td><%= s.lastUsedAt %></td><td><%= s.createdAt %></td></tr>
<% } %>
</tbody>
</table>
</div>
<form method="post" action="/logout">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<button type="submit" class="secondary">Log out</button>
</form>
`;
