/**
 * The layout every page renders in, and the error page. Eta escapes every `<%= %>`; `<%~ %>`
 * (raw) is used only for `it.body`, the page this layout wraps, which Eta rendered (escaped).
 * No `<style>`, no `style=` and no script: the page CSP forbids them all.
 */
export const LAYOUT = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><%= it.title %> · <%= it.appName %></title>
<link rel="stylesheet" href="<%= it.stylesheet %>">
<% if (it.script) { %><script src="<%= it.script %>" defer></script><% } %>
<% for (const src of it.scripts || []) { %><script src="<%= src %>" defer></script><% } %>
</head>
<body>
<header class="top"><a href="/account"><%= it.appName %></a><% if (it.signedIn) { %><span>Signed in</span><% } %></header>
<main id="main"<% if (it.wide) { %> class="wide"<% } %>>
<h1><%= it.title %></h1>
<% if (it.error) { %>
<div class="error" role="alert">
<p><strong><%= it.error.title %></strong> (code <code><%= it.error.code %></code>)</p>
<% if (it.error.hint) { %><p><%= it.error.hint %></p><% } %>
<% if (it.error.details && it.error.details.length > 0) { %><ul><% for (const d of it.error.details) { %><li><%= d %></li><% } %></ul><% } %>
</div>
<% } %>
<% if (it.notice) { %><p class="notice" role="status"><%= it.notice %></p><% } %>
<%~ it.body %>
</main>
</body>
</html>
`;

/** A refusal as a page: the API's code and title, what to do next, never a stack. */
export const ERROR_PAGE = `<% layout('@layout') %>
<p class="links"><a href="<%= it.back %>"><%= it.backLabel %></a></p>
`;
