/** GET /users/:id views chosen by policy, and PUT /users/me/avatar (issue 6). */
import { describe, expect, it } from 'vitest';
import { type Actors, createActor } from '../../test/support/actors.js';
import type { TestContext } from '../../test/support/app.js';
import { useCast } from '../../test/support/cast-app.js';
import { solidImage } from '../../test/support/images.js';
import { imageUpload } from '../../test/support/multipart.js';

let ctx: TestContext;
let cast: Actors;

const _clock = useCast((c, a) => {
  ctx = c;
  cast = a;
});

const PUBLIC_KEYS = ['avatarUrl', 'displayName', 'id'];

describe('GET /users/:id', () => {
  it('another user sees only the public view', async () => {
    const res = await ctx.app.inject({
      url: `/users/${cast.user.userId}`,
      headers: cast.other.headers,
    });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json()).sort()).toEqual(PUBLIC_KEYS);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('a moderator is "everyone else" too', async () => {
    const res = await ctx.app.inject({
      url: `/users/${cast.user.userId}`,
      headers: cast.moderator.headers,
    });
    expect(Object.keys(res.json()).sort()).toEqual(PUBLIC_KEYS);
  });

  it('self and admins get the full view', async () => {
    for (const viewer of [cast.user, cast.admin]) {
      const res = await ctx.app.inject({
        url: `/users/${cast.user.userId}`,
        headers: viewer.headers,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: cast.user.userId, email: cast.user.email });
      expect(res.json().roles).toEqual(['user']);
    }
  });

  it('an admin without MFA gets the public view of another user, the full view of self (issue 6)', async () => {
    const noMfa = await createActor(ctx.app, ctx.database.db, {
      roles: ['admin'],
      prefix: 'nomfa',
    });
    const other = await ctx.app.inject({
      url: `/users/${cast.user.userId}`,
      headers: noMfa.headers,
    });
    expect(other.statusCode).toBe(200);
    expect(Object.keys(other.json()).sort()).toEqual(PUBLIC_KEYS);
    expect(other.body).not.toContain(cast.user.email);
    const self = await ctx.app.inject({ url: `/users/${noMfa.userId}`, headers: noMfa.headers });
    expect(self.json()).toMatchObject({ id: noMfa.userId, email: noMfa.email, mfaEnabled: false });
    expect(self.json().roles).toContain('admin');
  });

  it('the client cannot choose the view: query strings are refused or ignored', async () => {
    const res = await ctx.app.inject({
      url: `/users/${cast.user.userId}?view=full&fields=email`,
      headers: cast.other.headers,
    });
    expect([200, 400]).toContain(res.statusCode);
    expect(res.body).not.toContain(cast.user.email);
  });

  it('an unknown id is 404, a malformed one 400, anonymous 401', async () => {
    const unknown = '01890000-0000-7000-8000-000000000000';
    expect(
      (await ctx.app.inject({ url: `/users/${unknown}`, headers: cast.user.headers })).statusCode,
    ).toBe(404);
    expect(
      (await ctx.app.inject({ url: '/users/not-a-uuid', headers: cast.user.headers })).statusCode,
    ).toBe(400);
    expect((await ctx.app.inject({ url: `/users/${cast.user.userId}` })).statusCode).toBe(401);
  });
});

describe('PUT /users/me/avatar', () => {
  for (const format of ['png', 'jpeg', 'webp'] as const) {
    it(`accepts a ${format}, stores it re-encoded as WebP under a random name`, async () => {
      const upload = imageUpload(
        await solidImage(64, 48, format),
        `me.${format}`,
        `image/${format}`,
      );
      const res = await ctx.app.inject({
        method: 'PUT',
        url: '/users/me/avatar',
        headers: { ...cast.user.headers, ...upload.headers },
        payload: upload.payload,
      });
      expect(res.statusCode, res.body).toBe(200);
      const { avatarUrl } = res.json();
      expect(avatarUrl).toMatch(/^\/media\/[A-Za-z0-9_-]{43}\.webp$/);
      const served = await ctx.app.inject({ url: avatarUrl });
      expect(served.statusCode).toBe(200);
      expect(served.headers['content-type']).toBe('image/webp');
      expect(served.headers['x-content-type-options']).toBe('nosniff');
      expect(served.headers['content-security-policy']).toBe('sandbox');
      expect(served.rawPayload.subarray(0, 4).toString('latin1')).toBe('RIFF');
      expect(served.rawPayload.subarray(8, 12).toString('latin1')).toBe('WEBP');
    });
  }

  it('replacing the avatar removes the previous file', async () => {
    const first = imageUpload(await solidImage(10, 10));
    const a = await ctx.app.inject({
      method: 'PUT',
      url: '/users/me/avatar',
      headers: { ...cast.other.headers, ...first.headers },
      payload: first.payload,
    });
    const second = imageUpload(await solidImage(12, 12));
    const b = await ctx.app.inject({
      method: 'PUT',
      url: '/users/me/avatar',
      headers: { ...cast.other.headers, ...second.headers },
      payload: second.payload,
    });
    expect(b.json().avatarUrl).not.toBe(a.json().avatarUrl);
    expect((await ctx.app.inject({ url: a.json().avatarUrl })).statusCode).toBe(404);
    expect((await ctx.app.inject({ url: b.json().avatarUrl })).statusCode).toBe(200);
    const view = await ctx.app.inject({
      url: `/users/${cast.other.userId}`,
      headers: cast.user.headers,
    });
    expect(view.json().avatarUrl).toBe(b.json().avatarUrl);
  });

  it('needs a bearer token', async () => {
    const upload = imageUpload(await solidImage(10, 10));
    const res = await ctx.app.inject({
      method: 'PUT',
      url: '/users/me/avatar',
      headers: upload.headers,
      payload: upload.payload,
    });
    expect(res.statusCode).toBe(401);
  });
});
