/**
 * The `/admin` pages (issue 15): users with their actions, the delete confirmation, the audit
 * log with its chain check, the security events. Every value goes through `<%= %>` (escaped);
 * every change is a POST form with `_csrf`; ids are unique on the page (suffixed by user id).
 */

const NAV = `<nav aria-label="Admin"><p class="links"><a href="/admin">Users</a> · <a href="/admin/audit-log">Audit log</a> · <a href="/admin/security-log">Security events</a> · <a href="/account">Your account</a></p></nav>
`;

/** The forms of one user (`u`), each back to the list with the search kept. */
const USER_FORMS = `<form class="inline" method="post" action="/admin/accounts/<%= u.id %>/<%= u.locked ? 'unlock' : 'lock' %>"><input type="hidden" name="_csrf" value="<%= it.csrf %>"><input type="hidden" name="query" value="<%= it.query %>"><button type="submit" class="secondary"><%= u.locked ? 'Unlock' : 'Lock' %> <span class="visually-hidden"><%= u.email %></span></button></form>
<form class="inline" method="post" action="/admin/accounts/<%= u.id %>/logout-all"><input type="hidden" name="_csrf" value="<%= it.csrf %>"><input type="hidden" name="query" value="<%= it.query %>"><button type="submit" class="secondary">Log out everywhere <span class="visually-hidden"><%= u.email %></span></button></form>
<form class="inline" method="post" action="/admin/accounts/<%= u.id %>/require-password-reset"><input type="hidden" name="_csrf" value="<%= it.csrf %>"><input type="hidden" name="query" value="<%= it.query %>"><button type="submit" class="secondary">Require a password reset <span class="visually-hidden"><%= u.email %></span></button></form>
<% if (!u.emailVerified) { %><form class="inline" method="post" action="/admin/accounts/<%= u.id %>/resend-verification"><input type="hidden" name="_csrf" value="<%= it.csrf %>"><input type="hidden" name="query" value="<%= it.query %>"><button type="submit" class="secondary">Resend verification <span class="visually-hidden"><%= u.email %></span></button></form><% } %>
<form method="post" action="/admin/accounts/<%= u.id %>/roles">
<input type="hidden" name="_csrf" value="<%= it.csrf %>"><input type="hidden" name="query" value="<%= it.query %>">
<fieldset><legend>Roles of <%= u.email %></legend>
<% for (const role of it.roles) { %><label><input type="checkbox" name="roles" value="<%= role %>"<% if (u.roles.includes(role)) { %> checked<% } %>> <%= role %></label><% } %>
</fieldset>
<button type="submit">Save roles <span class="visually-hidden">of <%= u.email %></span></button>
</form>
<% if (u.mfaEnabled) { %><form method="post" action="/admin/accounts/<%= u.id %>/reset-mfa">
<input type="hidden" name="_csrf" value="<%= it.csrf %>"><input type="hidden" name="query" value="<%= it.query %>">
<label for="reason-<%= u.id %>">Reason for resetting the MFA of <%= u.email %></label>
<input id="reason-<%= u.id %>" name="reason" type="text" required maxlength="500">
<button type="submit" class="secondary">Reset MFA <span class="visually-hidden">of <%= u.email %></span></button>
</form><% } %>
<p class="links"><a href="/admin/accounts/<%= u.id %>/delete">Delete <%= u.email %>…</a></p>
`;

export const ADMIN_USERS = `<% layout('@layout') %>
${NAV}<form method="get" action="/admin" role="search">
<label for="query">Search by email or display name</label>
<input id="query" name="query" type="text" maxlength="200" value="<%= it.query %>">
<button type="submit">Search</button>
</form>
<% if (it.users.length === 0) { %><p>No account matches.</p><% } %>
<% for (const u of it.users) { %>
<section class="user" aria-labelledby="user-<%= u.id %>">
<h2 id="user-<%= u.id %>"><%= u.displayName %></h2>
<dl>
<dt>Email</dt><dd><%= u.email %></dd>
<dt>Roles</dt><dd><%= u.roles.join(', ') %></dd>
<dt>Locked</dt><dd><%= u.locked ? 'yes' : 'no' %></dd>
<dt>Verified</dt><dd><%= u.emailVerified ? 'yes' : 'no' %></dd>
<dt>MFA</dt><dd><%= u.mfaEnabled ? 'yes' : 'no' %></dd>
<dt>Providers</dt><dd><% if (u.identities.length === 0) { %>none<% } else { %><%= u.identities.map((i) => i.email ? i.provider + ' (' + i.email + ')' : i.provider).join(', ') %><% } %></dd>
<dt>Created (UTC)</dt><dd><%= u.createdAt %></dd>
</dl>
${USER_FORMS}</section>
<% } %>
<% if (it.next) { %><p class="links"><a href="<%= it.next %>">Next page</a></p><% } %>
`;

export const ADMIN_DELETE = `<% layout('@layout') %>
${NAV}<dl>
<dt>Display name</dt><dd><%= it.user.displayName %></dd>
<dt>Email</dt><dd><%= it.user.email %></dd>
</dl>
<form method="post" action="/admin/accounts/<%= it.user.id %>/delete">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<p id="delete-help">The profile and sign-in data are erased and every session ends. This cannot be undone.</p>
<label><input type="checkbox" name="confirm" value="yes" required aria-describedby="delete-help"> Delete this account for good</label>
<button type="submit">Delete the account</button>
</form>
<p class="links"><a href="/admin">Cancel</a></p>
`;

export const ADMIN_AUDIT = `<% layout('@layout') %>
${NAV}<form method="post" action="/admin/audit-log/verify">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<button type="submit">Verify chain</button>
</form>
<% if (it.report) { %>
<div id="chain-report" class="<%= it.report.intact ? 'notice' : 'error' %>" role="status">
<p><strong><%= it.report.intact ? 'The chain is intact.' : 'The chain is broken.' %></strong> Entries checked: <%= it.report.entries %>.</p>
<% if (it.report.firstBrokenId) { %><p>First entry that does not hold: <code><%= it.report.firstBrokenId %></code></p><% } %>
<% if (it.report.truncated) { %><p>Entries were cut from the end of the log.</p><% } %>
<% if (it.report.lastHash) { %><p>Last hash: <code><%= it.report.lastHash %></code></p><% } %>
</div>
<% } %>
<div class="table-wrap">
<table>
<caption>Audit entries, newest first</caption>
<thead><tr><th scope="col">#</th><th scope="col">At (UTC)</th><th scope="col">Action</th><th scope="col">Actor</th><th scope="col">Target</th><th scope="col">IP</th></tr></thead>
<tbody>
<% for (const e of it.entries) { %>
<tr><td><%= e.seq %></td><td><%= e.at %></td><td><%= e.action %></td><td class="agent"><%= e.actorId || 'none' %></td><td class="agent"><%= e.targetType %> <%= e.targetId || '' %></td><td><%= e.ip || 'unknown' %></td></tr>
<% } %>
</tbody>
</table>
</div>
<% if (it.next) { %><p class="links"><a href="<%= it.next %>">Older entries</a></p><% } %>
`;

export const ADMIN_EVENTS = `<% layout('@layout') %>
${NAV}<form method="get" action="/admin/security-log">
<label for="type">Type (e.g. admin_action, refresh_token_reused)</label>
<input id="type" name="type" type="text" maxlength="64" value="<%= it.type %>">
<button type="submit">Filter</button>
</form>
<% if (it.events.length === 0) { %><p>No security event.</p><% } else { %>
<div class="table-wrap">
<table>
<caption>Security events, newest first</caption>
<thead><tr><th scope="col">At (UTC)</th><th scope="col">Type</th><th scope="col">User</th><th scope="col">IP</th><th scope="col">Detail</th></tr></thead>
<tbody>
<% for (const e of it.events) { %>
<tr><td><%= e.createdAt %></td><td><%= e.type %></td><td class="agent"><%= e.userId || 'none' %></td><td><%= e.ip || 'unknown' %></td><td class="agent"><code><%= e.detail %></code></td></tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
<% if (it.next) { %><p class="links"><a href="<%= it.next %>">Older events</a></p><% } %>
`;
