/**
 * Attacks on posts and comments (issue 7): an XSS corpus in every HTML field and in titles,
 * SQL-injection strings in every field, other users' posts and comments, mass assignment,
 * oversize bodies, and comments racing the deletion of their post.
 */
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { Parser } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { type Actor, type Actors, createActor } from '../../../test/support/actors.js';
import type { TestContext } from '../../../test/support/app.js';
import { useCast } from '../../../test/support/cast-app.js';
import { codeOf } from '../../../test/support/tokens.js';
import { ALLOWED_TAGS, LINK_REL, sanitizeContent } from './sanitize.js';
import { XSS_CORPUS } from './xss-corpus.js';

let ctx: TestContext;
let cast: Actors;

const _clock = useCast((c, a) => {
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

async function newPost(as: Actor, title = 'Target', content = '<p>Original</p>') {
  const res = await send('POST', '/posts', as, { title, content });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; title: string; content: string; updatedAt: string };
}

async function newComment(as: Actor, postId: string, content = '<p>Original</p>') {
  const res = await send('POST', `/posts/${postId}/comments`, as, { content });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; content: string };
}

const ALLOWED: ReadonlySet<string> = new Set(ALLOWED_TAGS);

/**
 * Everything in `html` that could run or fetch, as an HTML parser reads it (htmlparser2, with
 * entities decoded): elements off the allowlist, any attribute but a[href|rel], a link that is
 * not absolute http(s) or lacks our rel, comments and processing instructions. Empty: harmless.
 */
function dangers(html: string): string[] {
  const found: string[] = [];
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (!ALLOWED.has(name)) found.push(`element <${name}>`);
        for (const [attr, value] of Object.entries(attribs)) {
          const allowed = name === 'a' && (attr === 'href' || attr === 'rel');
          if (!allowed) found.push(`attribute ${name}[${attr}]`);
          if (/^on/i.test(attr)) found.push(`event handler ${attr}`);
          if (/(java|vb)script:|data:/i.test(value.replace(/[\s\p{Cc}]/gu, ''))) {
            found.push(`script URL in ${attr}`);
          }
        }
        if (name === 'a') {
          const href = attribs.href ?? '';
          let protocol = '';
          try {
            protocol = new URL(href).protocol;
          } catch {
            found.push(`relative or broken href ${JSON.stringify(href)}`);
          }
          if (protocol && protocol !== 'http:' && protocol !== 'https:') {
            found.push(`href scheme ${protocol}`);
          }
          if (attribs.rel !== LINK_REL) found.push(`rel ${JSON.stringify(attribs.rel)}`);
        }
      },
      oncomment() {
        found.push('comment');
      },
      onprocessinginstruction(name) {
        found.push(`processing instruction ${name}`);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  if (/javascript:|vbscript:/i.test(html)) found.push('a script: scheme in the text');
  return found;
}

/** Asserts stored HTML is harmless and stable: sanitizing it again changes nothing. */
function expectHarmless(html: string, label: string) {
  expect(dangers(html), `${label}\n${html}`).toEqual([]);
  expect(sanitizeContent(html), `${label} re-sanitized`).toBe(html);
}

describe('XSS corpus', () => {
  it('has at least 40 payloads, and the checker catches them raw', () => {
    expect(XSS_CORPUS.length).toBeGreaterThanOrEqual(40);
    // The check is not vacuous: most raw payloads fail it.
    const caught = XSS_CORPUS.filter((p) => dangers(p).length > 0);
    expect(caught.length).toBeGreaterThanOrEqual(XSS_CORPUS.length - 3);
  });

  it('nothing executable survives in a post, as created, as read back and as listed', async () => {
    const ids: string[] = [];
    for (const [i, payload] of XSS_CORPUS.entries()) {
      const res = await send('POST', '/posts', cast.user, {
        title: `xss ${i}`,
        content: `<p>before ${i}</p>${payload}`,
      });
      expect(res.statusCode, payload).toBe(201);
      const created = res.json();
      expectHarmless(created.content, `create #${i} ${payload}`);
      const read = await send('GET', `/posts/${created.id}`);
      expect(read.json().content).toBe(created.content);
      ids.push(created.id);
    }
    const listed = await send('GET', '/posts?limit=100');
    const byId = new Map(
      (listed.json().items as { id: string; content: string }[]).map((p) => [p.id, p.content]),
    );
    for (const id of ids) {
      expect(byId.has(id), `listed ${id}`).toBe(true);
      expectHarmless(byId.get(id) ?? '', `listed ${id}`);
    }
  });

  it('nothing executable survives an edit', async () => {
    const post = await newPost(cast.user);
    for (const [i, payload] of XSS_CORPUS.entries()) {
      const res = await send('PATCH', `/posts/${post.id}`, cast.user, {
        content: `<p>before</p>${payload}`,
      });
      expect(res.statusCode, payload).toBe(200);
      expectHarmless(res.json().content, `edit #${i} ${payload}`);
    }
  });

  it('nothing executable survives in a comment, bare payloads included', async () => {
    const post = await newPost(cast.user);
    let stored = 0;
    for (const [i, payload] of XSS_CORPUS.entries()) {
      const res = await send('POST', `/posts/${post.id}/comments`, cast.other, {
        content: payload,
      });
      // A payload that is nothing but active content leaves no text: refused, nothing stored.
      if (res.statusCode === 422) {
        expect(codeOf(res)).toBe('empty_content');
        continue;
      }
      expect(res.statusCode, payload).toBe(201);
      expectHarmless(res.json().content, `comment #${i} ${payload}`);
      stored += 1;
    }
    const list = await send('GET', `/posts/${post.id}/comments?limit=100`);
    const items = list.json().items as { content: string }[];
    expect(items).toHaveLength(stored);
    for (const c of items) expectHarmless(c.content, 'listed comment');
  });

  it('a title is plain text: kept verbatim and served only as JSON, never as HTML', async () => {
    for (const payload of XSS_CORPUS) {
      // Titles are one line without control characters; the rest of each payload is kept as is.
      const title = payload.replace(/[\t\n\r]/g, ' ').slice(0, 200);
      const res = await send('POST', '/posts', cast.user, { title, content: '<p>x</p>' });
      expect(res.statusCode, title).toBe(201);
      expect(res.json().title).toBe(title);
      const read = await send('GET', `/posts/${res.json().id}`);
      expect(read.headers['content-type']).toMatch(/^application\/json/);
      expect(read.headers['x-content-type-options']).toBe('nosniff');
      expect(read.json().title).toBe(title);
    }
  });
});

const SQL_INJECTION = [
  "'; DROP TABLE posts; --",
  "' OR '1'='1",
  "' OR 1=1 --",
  '1; DELETE FROM comments WHERE 1=1; --',
  "'); UPDATE users SET roles = '{admin}'; --",
  "' UNION SELECT id, email, password_hash FROM users --",
  '$$; DROP TABLE comments; $$',
  "\\'; TRUNCATE posts CASCADE; --",
  "%' OR title LIKE '%",
  "1' AND pg_sleep(5) IS NULL --",
  "E'\\x27'; SELECT 1; --",
  '"); DROP TABLE "users"; --',
];

describe('SQL injection', () => {
  it('is stored as text in titles, posts and comments; nothing else changes', async () => {
    const canary = await newPost(cast.other, 'Canary', '<p>Canary</p>');
    const canaryComment = await newComment(cast.other, canary.id, '<p>Canary comment</p>');
    const usersBefore = await ctx.database.db
      .selectFrom('users')
      .select(['id', 'roles', 'password_hash'])
      .orderBy('id')
      .execute();

    for (const s of SQL_INJECTION) {
      const created = await send('POST', '/posts', cast.user, { title: s, content: s });
      expect(created.statusCode, s).toBe(201);
      const post = created.json();
      expect(post.title).toBe(s);
      expect(post.content).toBe(sanitizeContent(s));
      const edited = await send('PATCH', `/posts/${post.id}`, cast.user, { title: `${s} 2` });
      expect(edited.statusCode).toBe(200);
      expect(edited.json().title).toBe(`${s} 2`);
      const comment = await send('POST', `/posts/${post.id}/comments`, cast.user, { content: s });
      expect(comment.statusCode).toBe(201);
      expect(comment.json().content).toBe(sanitizeContent(s));
      expect((await send('GET', `/posts/${post.id}`)).json().title).toBe(`${s} 2`);
    }

    // In the URL: ids, cursors and limits are validated before any query.
    for (const s of SQL_INJECTION) {
      const q = encodeURIComponent(s);
      for (const url of [`/posts/${q}`, `/posts?cursor=${q}`, `/posts?limit=${q}`]) {
        const res = await send('GET', url);
        expect(res.statusCode, url).toBe(400);
        expect(codeOf(res)).toBe('validation_failed');
      }
      const del = await send('DELETE', `/comments/${q}`, cast.user);
      expect(del.statusCode).toBe(400);
    }

    expect((await send('GET', `/posts/${canary.id}`)).json()).toMatchObject({
      title: 'Canary',
      content: '<p>Canary</p>',
    });
    expect((await send('GET', `/comments/${canaryComment.id}`)).json().content).toBe(
      '<p>Canary comment</p>',
    );
    const usersAfter = await ctx.database.db
      .selectFrom('users')
      .select(['id', 'roles', 'password_hash'])
      .where(
        'id',
        'in',
        usersBefore.map((u) => u.id),
      )
      .orderBy('id')
      .execute();
    expect(usersAfter).toEqual(usersBefore);
  });
});

describe('someone else’s content', () => {
  it('another user cannot edit a post (403 forbidden) and it stays as it was', async () => {
    const post = await newPost(cast.user);
    for (const body of [{ title: 'pwned' }, { content: '<p>pwned</p>' }]) {
      const res = await send('PATCH', `/posts/${post.id}`, cast.other, body);
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('forbidden');
    }
    expect((await send('GET', `/posts/${post.id}`)).json()).toMatchObject({
      title: post.title,
      content: post.content,
      updatedAt: post.updatedAt,
    });
  });

  it('another user cannot delete a post or a comment (403 forbidden); both stay', async () => {
    const post = await newPost(cast.user);
    const comment = await newComment(cast.user, post.id);
    const delPost = await send('DELETE', `/posts/${post.id}`, cast.other);
    expect(delPost.statusCode).toBe(403);
    expect(codeOf(delPost)).toBe('forbidden');
    const delComment = await send('DELETE', `/comments/${comment.id}`, cast.other);
    expect(delComment.statusCode).toBe(403);
    expect(codeOf(delComment)).toBe('forbidden');
    expect((await send('GET', `/posts/${post.id}`)).statusCode).toBe(200);
    expect((await send('GET', `/comments/${comment.id}`)).statusCode).toBe(200);
  });

  it('without a bearer nothing is written or deleted (401 unauthorized)', async () => {
    const post = await newPost(cast.user);
    const comment = await newComment(cast.user, post.id);
    const attempts = [
      send('PATCH', `/posts/${post.id}`, undefined, { title: 'x' }),
      send('DELETE', `/posts/${post.id}`),
      send('POST', `/posts/${post.id}/comments`, undefined, { content: 'x' }),
      send('DELETE', `/comments/${comment.id}`),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.statusCode).toBe(401);
      expect(codeOf(res)).toBe('unauthorized');
    }
  });

  it('a moderator and an admin delete any post and comment', async () => {
    for (const who of [cast.moderator, cast.admin]) {
      const post = await newPost(cast.user);
      const comment = await newComment(cast.other, post.id);
      expect((await send('DELETE', `/comments/${comment.id}`, who)).statusCode).toBe(204);
      expect((await send('DELETE', `/posts/${post.id}`, who)).statusCode).toBe(204);
      expect((await send('GET', `/posts/${post.id}`)).statusCode).toBe(404);
    }
  });

  it('an admin whose session has no second factor moderates nothing (403)', async () => {
    const weakAdmin = await createActor(ctx.app, ctx.database.db, { roles: ['admin'] });
    const post = await newPost(cast.user);
    const comment = await newComment(cast.user, post.id);
    const delComment = await send('DELETE', `/comments/${comment.id}`, weakAdmin);
    expect(delComment.statusCode).toBe(403);
    expect(codeOf(delComment)).toBe('forbidden');
    const delPost = await send('DELETE', `/posts/${post.id}`, weakAdmin);
    expect(delPost.statusCode).toBe(403);
    expect((await send('GET', `/comments/${comment.id}`)).statusCode).toBe(200);
  });

  it('the unverified user cannot post, edit or comment (403 email_not_verified)', async () => {
    const own = await newPost(cast.user);
    // Their own post from before the verification was withdrawn.
    const mine = await ctx.database.db
      .insertInto('posts')
      .values({
        id: randomUUID(),
        author_id: cast.unverified.userId,
        title: 'Old',
        content: '<p>Old</p>',
        created_at: new Date(),
        updated_at: new Date(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const attempts = [
      send('POST', '/posts', cast.unverified, { title: 't', content: '<p>c</p>' }),
      send('PATCH', `/posts/${mine.id}`, cast.unverified, { title: 'New' }),
      send('POST', `/posts/${own.id}/comments`, cast.unverified, { content: '<p>c</p>' }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('email_not_verified');
    }
    expect((await send('GET', `/posts/${mine.id}`)).json().title).toBe('Old');
  });
});

describe('mass assignment and size', () => {
  it('unknown keys are refused (400 validation_failed), never honoured', async () => {
    const post = await newPost(cast.user);
    const attempts: [string, string, Record<string, unknown>][] = [
      ['POST', '/posts', { title: 't', content: 'c', authorId: cast.other.userId }],
      ['POST', '/posts', { title: 't', content: 'c', id: randomUUID() }],
      ['POST', '/posts', { title: 't', content: 'c', createdAt: '2000-01-01T00:00:00Z' }],
      ['PATCH', `/posts/${post.id}`, { title: 't', authorId: cast.other.userId }],
      ['PATCH', `/posts/${post.id}`, { updatedAt: '2000-01-01T00:00:00Z' }],
      ['POST', `/posts/${post.id}/comments`, { content: 'c', authorId: cast.other.userId }],
      ['POST', `/posts/${post.id}/comments`, { content: 'c', postId: randomUUID() }],
    ];
    for (const [method, url, payload] of attempts) {
      const res = await send(method as 'POST' | 'PATCH', url, cast.user, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(codeOf(res)).toBe('validation_failed');
    }
    const mine = await ctx.database.db
      .selectFrom('posts')
      .select('author_id')
      .where('id', '=', post.id)
      .executeTakeFirstOrThrow();
    expect(mine.author_id).toBe(cast.user.userId);
  });

  it('oversize content is refused: 400 over the field limit, 413 over the body limit', async () => {
    const post = await newPost(cast.user);
    const overField = [
      send('POST', '/posts', cast.user, { title: 't', content: 'x'.repeat(20_001) }),
      send('PATCH', `/posts/${post.id}`, cast.user, { content: 'x'.repeat(20_001) }),
      send('POST', `/posts/${post.id}/comments`, cast.user, { content: 'x'.repeat(5_001) }),
    ];
    for (const res of await Promise.all(overField)) {
      expect(res.statusCode).toBe(400);
      expect(codeOf(res)).toBe('validation_failed');
    }
    const huge = await send('POST', '/posts', cast.user, {
      title: 't',
      content: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(huge.statusCode).toBe(413);
    expect(codeOf(huge)).toBe('payload_too_large');
  });

  it('deeply nested markup is flattened, not a stack overflow', async () => {
    const deep = `${'<b>'.repeat(2_000)}deep${'</b>'.repeat(2_000)}`;
    const res = await send('POST', '/posts', cast.user, { title: 'deep', content: deep });
    expect(res.statusCode).toBe(201);
    expect((res.json().content.match(/<b>/g) ?? []).length).toBeLessThanOrEqual(32);
    expectHarmless(res.json().content, 'deep');
  });
});

describe('races', () => {
  it('comments racing their post’s deletion: each 201 or 404, none left orphaned', async () => {
    const post = await newPost(cast.user);
    const comments = Array.from({ length: 20 }, (_, i) =>
      send('POST', `/posts/${post.id}/comments`, cast.other, { content: `<p>${i}</p>` }),
    );
    const deletion = send('DELETE', `/posts/${post.id}`, cast.user);
    const results = await Promise.all([...comments, deletion]);
    expect(results.at(-1)?.statusCode).toBe(204);
    for (const res of results.slice(0, -1)) expect([201, 404]).toContain(res.statusCode);
    const left = await ctx.database.db
      .selectFrom('comments')
      .select('id')
      .where('post_id', '=', post.id)
      .execute();
    expect(left).toEqual([]);
  });
});
