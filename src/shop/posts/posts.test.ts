/** Posts and comments through the API (issue 7): shapes, paging, edits, deletes, status codes. */
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { type Actor, type Actors, createActor } from '../../../test/support/actors.js';
import type { TestContext } from '../../../test/support/app.js';
import { useCast } from '../../../test/support/cast-app.js';
import { codeOf } from '../../../test/support/tokens.js';
import { LINK_REL } from './sanitize.js';

let ctx: TestContext;
let cast: Actors;

const clock = useCast((c, a) => {
  ctx = c;
  cast = a;
});

function send(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  as?: Actor,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return ctx.app.inject({
    method,
    url,
    ...(as ? { headers: as.headers } : {}),
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

async function newPost(as: Actor, title = 'A title', content = '<p>Hello</p>') {
  const res = await send('POST', '/posts', as, { title, content });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; authorId: string; title: string; content: string };
}

async function newComment(as: Actor, postId: string, content = '<p>Nice</p>') {
  const res = await send('POST', `/posts/${postId}/comments`, as, { content });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; postId: string; authorId: string; content: string };
}

describe('posts', () => {
  it('creates a post: 201, Location, the post shape, sanitized content', async () => {
    const res = await send('POST', '/posts', cast.user, {
      title: 'First <post>',
      content:
        '<p onclick="x()">Hi <a href="https://example.com/a">link</a></p><script>x()</script>',
    });
    expect(res.statusCode).toBe(201);
    const post = res.json();
    expect(res.headers.location).toBe(`/posts/${post.id}`);
    expect(Object.keys(post).sort()).toEqual(
      ['authorId', 'content', 'createdAt', 'id', 'title', 'updatedAt'].sort(),
    );
    expect(post.authorId).toBe(cast.user.userId);
    expect(post.title).toBe('First <post>');
    expect(post.content).toBe(
      `<p>Hi <a href="https://example.com/a" rel="${LINK_REL}">link</a></p>`,
    );
    expect(post.createdAt).toBe(new Date(clock.now()).toISOString());
    expect(post.updatedAt).toBe(post.createdAt);

    const read = await send('GET', res.headers.location as string);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(post);
  });

  it('is public to read; an unknown id is 404 not_found', async () => {
    const res = await send('GET', `/posts/${randomUUID()}`);
    expect(res.statusCode).toBe(404);
    expect(codeOf(res)).toBe('not_found');
    expect((await send('GET', '/posts')).statusCode).toBe(200);
  });

  it('needs a bearer to write (401) and a verified email (403 email_not_verified)', async () => {
    const anon = await send('POST', '/posts', undefined, { title: 't', content: 'c' });
    expect(anon.statusCode).toBe(401);
    expect(codeOf(anon)).toBe('unauthorized');
    const unverified = await send('POST', '/posts', cast.unverified, { title: 't', content: 'c' });
    expect(unverified.statusCode).toBe(403);
    expect(codeOf(unverified)).toBe('email_not_verified');
  });

  it('rejects content with nothing left after sanitizing: 422 empty_content', async () => {
    const res = await send('POST', '/posts', cast.user, {
      title: 'Only a script',
      content: '<script>alert(1)</script><img src=x onerror=alert(1)>',
    });
    expect(res.statusCode).toBe(422);
    expect(codeOf(res)).toBe('empty_content');
  });

  it('validates titles and content: blank, too long, control characters', async () => {
    const cases: Record<string, unknown>[] = [
      { title: '', content: 'c' },
      { title: '   ', content: 'c' },
      { title: 'x'.repeat(201), content: 'c' },
      { title: 'tab\there', content: 'c' },
      { title: 'new\nline', content: 'c' },
      { title: 'bidi \u202Eevil', content: 'c' },
      { title: 'ok', content: '' },
      { title: 'ok', content: 'nul \u0000 byte' },
      { title: 'ok', content: 'x'.repeat(20_001) },
      { title: 'ok' },
      { content: 'c' },
      { title: 42, content: 'c' },
    ];
    for (const payload of cases) {
      const res = await send('POST', '/posts', cast.user, payload);
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(codeOf(res)).toBe('validation_failed');
    }
    // 200 code points, even when each takes two UTF-16 units.
    await newPost(cast.user, '😀'.repeat(200));
    await newPost(cast.user, 'ok', `<p>${'x'.repeat(19_993)}</p>`);
  });

  it('lists newest first with a stable cursor over every post exactly once', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 5; i += 1) mine.push((await newPost(cast.other, `paging ${i}`)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await send('GET', `/posts?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      const body = res.json() as { items: { id: string }[]; nextCursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((p) => p.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort().reverse()).toEqual(seen);
    const order = seen.filter((id) => mine.includes(id));
    expect(order).toEqual([...mine].reverse());
  });

  it('rejects bad paging parameters with 400 validation_failed', async () => {
    for (const q of ['limit=0', 'limit=101', 'cursor=abc', 'sort=title']) {
      const res = await send('GET', `/posts?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(codeOf(res)).toBe('validation_failed');
    }
  });

  it('lets the author edit: 200 with the post, updatedAt moves, content sanitized', async () => {
    const post = await newPost(cast.user);
    clock.advance(5_000);
    const res = await send('PATCH', `/posts/${post.id}`, cast.user, {
      content: '<p>Edited <iframe src="https://evil.example"></iframe></p>',
    });
    expect(res.statusCode).toBe(200);
    const edited = res.json();
    expect(edited.title).toBe(post.title);
    expect(edited.content).toBe('<p>Edited </p>');
    expect(Date.parse(edited.updatedAt) - Date.parse(edited.createdAt)).toBe(5_000);
    const title = await send('PATCH', `/posts/${post.id}`, cast.user, { title: 'New title' });
    expect(title.json().title).toBe('New title');
    expect(title.json().content).toBe('<p>Edited </p>');
  });

  it('PATCH: nobody but the author (403 forbidden, even moderators and admins); 404; empty body 400', async () => {
    const post = await newPost(cast.user);
    for (const who of [cast.other, cast.moderator, cast.admin]) {
      const res = await send('PATCH', `/posts/${post.id}`, who, { title: 'mine now' });
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('forbidden');
    }
    const missing = await send('PATCH', `/posts/${randomUUID()}`, cast.user, { title: 'x' });
    expect(missing.statusCode).toBe(404);
    expect(codeOf(missing)).toBe('not_found');
    const empty = await send('PATCH', `/posts/${post.id}`, cast.user, {});
    expect(empty.statusCode).toBe(400);
    expect(codeOf(empty)).toBe('validation_failed');
    expect((await send('GET', `/posts/${post.id}`)).json().title).toBe(post.title);
  });

  it('deleting a post removes it and its comments; a second delete is 404', async () => {
    const post = await newPost(cast.user);
    const comment = await newComment(cast.other, post.id);
    const res = await send('DELETE', `/posts/${post.id}`, cast.user);
    expect(res.statusCode).toBe(204);
    expect((await send('GET', `/posts/${post.id}`)).statusCode).toBe(404);
    expect((await send('GET', `/posts/${post.id}/comments`)).statusCode).toBe(404);
    expect((await send('GET', `/comments/${comment.id}`)).statusCode).toBe(404);
    const again = await send('DELETE', `/posts/${post.id}`, cast.user);
    expect(again.statusCode).toBe(404);
    expect(codeOf(again)).toBe('not_found');
  });
  it("a deleted author's posts and comments stay, still naming the tombstoned account", async () => {
    const leaver = await createActor(ctx.app, ctx.database.db, { prefix: 'leaver' });
    const post = await newPost(leaver);
    const comment = await newComment(leaver, post.id);
    const del = await send('DELETE', `/admin/users/${leaver.userId}`, cast.admin);
    expect(del.statusCode, del.body).toBe(204);
    const read = await send('GET', `/posts/${post.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json().authorId).toBe(leaver.userId);
    expect((await send('GET', `/comments/${comment.id}`)).json().authorId).toBe(leaver.userId);
    // The tombstone can no longer write.
    const write = await send('POST', '/posts', leaver, { title: 't', content: 'c' });
    expect(write.statusCode).toBe(401);
  });
});

describe('comments', () => {
  it('creates a comment: 201, Location, the comment shape', async () => {
    const post = await newPost(cast.user);
    const res = await send('POST', `/posts/${post.id}/comments`, cast.other, {
      content: '<p>Agreed <b>strongly</b><img src=x></p>',
    });
    expect(res.statusCode).toBe(201);
    const comment = res.json();
    expect(res.headers.location).toBe(`/comments/${comment.id}`);
    expect(Object.keys(comment).sort()).toEqual(
      ['authorId', 'content', 'createdAt', 'id', 'postId'].sort(),
    );
    expect(comment).toMatchObject({
      postId: post.id,
      authorId: cast.other.userId,
      content: '<p>Agreed <b>strongly</b></p>',
    });
    expect((await send('GET', res.headers.location as string)).json()).toEqual(comment);
  });

  it('on a missing post: 404 to read and to write; unverified: 403', async () => {
    const missing = randomUUID();
    expect((await send('GET', `/posts/${missing}/comments`)).statusCode).toBe(404);
    const write = await send('POST', `/posts/${missing}/comments`, cast.user, { content: 'x' });
    expect(write.statusCode).toBe(404);
    expect(codeOf(write)).toBe('not_found');
    const post = await newPost(cast.user);
    const unverified = await send('POST', `/posts/${post.id}/comments`, cast.unverified, {
      content: 'x',
    });
    expect(unverified.statusCode).toBe(403);
    expect(codeOf(unverified)).toBe('email_not_verified');
  });

  it('lists oldest first, paged, each comment once', async () => {
    const post = await newPost(cast.user);
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await newComment(cast.other, post.id, `c${i}`)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await send('GET', `/posts/${post.id}/comments?limit=2${q}`);
      expect(res.statusCode).toBe(200);
      const body = res.json() as { items: { id: string; content: string }[]; nextCursor: string };
      seen.push(...body.items.map((c) => c.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
  });

  it('the author, a moderator or an admin deletes a comment; others 403; missing 404', async () => {
    const post = await newPost(cast.user);
    const byAuthor = await newComment(cast.other, post.id);
    const byMod = await newComment(cast.other, post.id);
    const byAdmin = await newComment(cast.other, post.id);

    // Not even the post's author may delete someone else's comment.
    for (const who of [cast.user, cast.unverified]) {
      const res = await send('DELETE', `/comments/${byAuthor.id}`, who);
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('forbidden');
    }
    expect((await send('DELETE', `/comments/${byAuthor.id}`, cast.other)).statusCode).toBe(204);
    expect((await send('DELETE', `/comments/${byMod.id}`, cast.moderator)).statusCode).toBe(204);
    expect((await send('DELETE', `/comments/${byAdmin.id}`, cast.admin)).statusCode).toBe(204);
    const list = await send('GET', `/posts/${post.id}/comments`);
    expect(list.json().items).toEqual([]);
    const missing = await send('DELETE', `/comments/${byAuthor.id}`, cast.other);
    expect(missing.statusCode).toBe(404);
    expect(codeOf(missing)).toBe('not_found');
  });

  it('writes a moderator or admin removing someone else content to the audit log', async () => {
    const post = await newPost(cast.user);
    const comment = await newComment(cast.user, post.id);
    expect((await send('DELETE', `/comments/${comment.id}`, cast.admin)).statusCode).toBe(204);
    expect((await send('DELETE', `/posts/${post.id}`, cast.moderator)).statusCode).toBe(204);
    const rows = await ctx.database.db
      .selectFrom('audit_log')
      .select(['actor_id', 'action', 'target_id', 'detail'])
      .where('target_id', 'in', [post.id, comment.id])
      .orderBy('seq')
      .execute();
    expect(rows).toEqual([
      {
        actor_id: cast.admin.userId,
        action: 'shop.comment.removed',
        target_id: comment.id,
        detail: { authorId: cast.user.userId, as: 'admin' },
      },
      {
        actor_id: cast.moderator.userId,
        action: 'shop.post.removed',
        target_id: post.id,
        detail: { authorId: cast.user.userId, as: 'moderator' },
      },
    ]);
  });

  it('an author removing their own content is not a moderation act (no audit entry)', async () => {
    const post = await newPost(cast.user);
    expect((await send('DELETE', `/posts/${post.id}`, cast.user)).statusCode).toBe(204);
    const rows = await ctx.database.db
      .selectFrom('audit_log')
      .select('id')
      .where('target_id', '=', post.id)
      .execute();
    expect(rows).toEqual([]);
  });
});

describe('OpenAPI', () => {
  it('documents every posts route, with strict bodies', async () => {
    const res = await send('GET', '/openapi.json');
    expect(res.statusCode).toBe(200);
    const paths = res.json().paths;
    for (const path of ['/posts', '/posts/{id}', '/posts/{id}/comments', '/comments/{id}']) {
      expect(paths[path], path).toBeDefined();
    }
    const bodies = [
      paths['/posts'].post,
      paths['/posts/{id}'].patch,
      paths['/posts/{id}/comments'].post,
    ].map((op) => op.requestBody.content['application/json'].schema);
    for (const body of bodies) expect(body.additionalProperties).toBe(false);
  });
});
