/** The account page (issue 15): profile and its forms, providers, sessions, log out, deletion. */
import {
  DELETE_FORM,
  PROFILE_FORMS,
  SESSION_REVOKE,
  SESSIONS_FORMS,
} from './account-forms.templates.js';
import { AVATAR_SECTION } from './avatar.templates.js';
import { MFA_SECTION } from './mfa.templates.js';
import { PASSKEY_SECTION } from './passkeys.templates.js';

export const ACCOUNT = `<% layout('@layout') %>
<h2>Profile</h2>
<dl>
<dt>Display name</dt><dd id="display-name"><%= it.user.displayName %></dd>
<dt>Email</dt><dd><%= it.user.email %></dd>
</dl>
${PROFILE_FORMS}${AVATAR_SECTION}${MFA_SECTION}${PASSKEY_SECTION}<h2>Sign-in providers</h2>
<% if (it.identities.length === 0) { %><p>No provider is linked to this account.</p><% } else { %>
<div class="table-wrap">
<table>
<caption>Providers that sign you in to this account</caption>
<thead><tr><th scope="col">Provider</th><th scope="col">Email there</th><th scope="col">Linked (UTC)</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>
<% for (const i of it.identities) { %>
<tr><td><%= i.label %></td><td><%= i.email || 'unknown' %></td><td><%= i.createdAt %></td><td><form class="inline" method="post" action="/account/identities/<%= i.id %>/unlink"><input type="hidden" name="_csrf" value="<%= it.csrf %>"><button type="submit" class="secondary" aria-label="Unlink <%= i.label %>">Unlink</button></form></td></tr>
<% } %>
</tbody>
</table>
</div>
<% } %>
<% for (const p of it.linkable) { %>
<form class="inline" method="post" action="/account/identities/link"><input type="hidden" name="_csrf" value="<%= it.csrf %>"><input type="hidden" name="provider" value="<%= p.name %>"><button type="submit">Link <%= p.label %></button></form>
<% } %>
<h2>Sessions</h2>
<div class="table-wrap">
<table>
<caption>Your signed-in sessions, newest first</caption>
<thead><tr><th scope="col">Device (user agent)</th><th scope="col">IP address</th><th scope="col">Last used (UTC)</th><th scope="col">Signed in (UTC)</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>
<% for (const s of it.sessions) { %>
<tr><td class="agent"><%= s.userAgent || 'unknown' %><% if (s.current) { %> <strong>(this device)</strong><% } %></td><td><%= s.ip || 'unknown' %></td><td><%= s.lastUsedAt %></td><td><%= s.createdAt %></td><td>${SESSION_REVOKE}</td></tr>
<% } %>
</tbody>
</table>
</div>
${SESSIONS_FORMS}<form method="post" action="/logout">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<button type="submit" class="secondary">Log out</button>
</form>
${DELETE_FORM}`;
