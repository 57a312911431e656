/**
 * The account page's avatar (issue 15): the current one, and a `multipart/form-data` form whose
 * `_csrf` comes before the file (the route checks it first). No JavaScript: the page shown after
 * the upload is the preview.
 */
export const AVATAR_SECTION = `<h2>Avatar</h2>
<% if (it.user.avatarUrl) { %><p><img id="avatar" src="<%= it.user.avatarUrl %>" alt="Your avatar" width="128" height="128"></p><% } else { %><p id="avatar-none">No avatar yet.</p><% } %>
<form method="post" action="/account/avatar" enctype="multipart/form-data">
<input type="hidden" name="_csrf" value="<%= it.csrf %>">
<label for="avatar-file">Image (PNG, JPEG or WebP; at most 5 MiB)</label>
<input id="avatar-file" name="file" type="file" accept="image/png,image/jpeg,image/webp" required>
<button type="submit">Upload avatar</button>
</form>
`;
