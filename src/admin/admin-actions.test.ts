/**
 * Admin actions are security events (issue 5): every audited admin change (roles, lock,
 * deletion, forced logout) and every moderation removal of someone else's content raises one
 * `admin_action` event naming who acted, the action and its target, listed by
 * GET /admin/security-events once the change has committed. A refused or self-service change
 * raises none.
 */
import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { type Actor, type Actors, createActor } from '../../test/support/actors.js';
import type { TestContext } from '../../test/support/app.js';
import { useCast } from '../../test/support/cast-app.js';

let ctx: TestContext;
let cast: Actors;

useCast((c, a) => {
  ctx = c;
  cast = a;
});

function send(
  as: Actor,
  method: 'GET' | 'PATCH' | 'DELETE' | 'POST',
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return ctx.app.inject({
    method,
    url,
    headers: as.headers,
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

interface ListedEvent {
  readonly type: string;
  readonly userId: string | null;
  readonly detail: { action?: string; targetId?: string };
}

/** The admin_action events about `targetId`, oldest first, as the admin API lists them. */
async function adminActionsOn(targetId: string): Promise<ListedEvent[]> {
  const res = await send(cast.admin, 'GET', '/admin/security-events?type=admin_action&limit=200');
  expect(res.statusCode, res.body).toBe(200);
  const items = res.json().items as ListedEvent[];
  return items
    .filter((e) => e.detail.targetId === targetId)
    .map(({ type, userId, detail }) => ({ type, userId, detail }))
    .reverse();
}

describe('admin_action security events', () => {
  it('a role change and a lock are one event each, naming the admin, the action and the target', async () => {
    const target = await createActor(ctx.app, ctx.database.db, { prefix: 'target' });
    const res = await send(cast.admin, 'PATCH', `/admin/users/${target.userId}`, {
      roles: ['moderator'],
      locked: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(await adminActionsOn(target.userId)).toEqual([
      {
        type: 'admin_action',
        userId: cast.admin.userId,
        detail: { action: 'admin.user.roles_changed', targetId: target.userId },
      },
      {
        type: 'admin_action',
        userId: cast.admin.userId,
        detail: { action: 'admin.user.locked', targetId: target.userId },
      },
    ]);
    // A patch that changes nothing audits nothing, and raises nothing.
    await send(cast.admin, 'PATCH', `/admin/users/${target.userId}`, { locked: true });
    expect(await adminActionsOn(target.userId)).toHaveLength(2);
  });

  it('a forced logout and a deletion are events too', async () => {
    const target = await createActor(ctx.app, ctx.database.db, { prefix: 'target' });
    expect(
      (await send(cast.admin, 'POST', `/admin/users/${target.userId}/logout-all`)).statusCode,
    ).toBe(204);
    expect((await send(cast.admin, 'DELETE', `/admin/users/${target.userId}`)).statusCode).toBe(
      204,
    );
    expect((await adminActionsOn(target.userId)).map((e) => [e.userId, e.detail.action])).toEqual([
      [cast.admin.userId, 'admin.user.sessions_revoked'],
      [cast.admin.userId, 'admin.user.deleted'],
    ]);
  });

  it('a refused admin change raises none', async () => {
    const target = await createActor(ctx.app, ctx.database.db, { prefix: 'target' });
    const res = await send(cast.user, 'PATCH', `/admin/users/${target.userId}`, { locked: true });
    expect(res.statusCode).toBe(403);
    // The admin's own demotion is refused (409) before anything is written.
    const self = await send(cast.admin, 'PATCH', `/admin/users/${cast.admin.userId}`, {
      roles: [],
    });
    expect(self.statusCode).toBe(409);
    expect(await adminActionsOn(target.userId)).toEqual([]);
    expect(await adminActionsOn(cast.admin.userId)).toEqual([]);
  });

  it("a moderator removing someone else's post or comment is an event; an author removing their own is not", async () => {
    const author = await createActor(ctx.app, ctx.database.db, { prefix: 'author' });
    const post = (await send(author, 'POST', '/posts', { title: 'T', content: '<p>x</p>' })).json();
    const own = (await send(author, 'POST', '/posts', { title: 'U', content: '<p>y</p>' })).json();
    const comment = (
      await send(author, 'POST', `/posts/${own.id}/comments`, { content: '<p>z</p>' })
    ).json();

    expect((await send(cast.moderator, 'DELETE', `/comments/${comment.id}`)).statusCode).toBe(204);
    expect((await send(cast.moderator, 'DELETE', `/posts/${post.id}`)).statusCode).toBe(204);
    expect((await send(author, 'DELETE', `/posts/${own.id}`)).statusCode).toBe(204);

    expect(await adminActionsOn(comment.id)).toEqual([
      {
        type: 'admin_action',
        userId: cast.moderator.userId,
        detail: { action: 'shop.comment.removed', targetId: comment.id },
      },
    ]);
    expect((await adminActionsOn(post.id)).map((e) => e.detail.action)).toEqual([
      'shop.post.removed',
    ]);
    expect(await adminActionsOn(own.id)).toEqual([]);
  });
});
