/**
 * Fixtures for tests that walk every route as every kind of caller: actors made on demand
 * (fresh ones for routes that change state, shared ones for reads, re-made before their tokens
 * or their recent login go stale) and objects owned by an "owner" user.
 */

import type { Role } from '../../src/access/policy.js';
import type { App } from '../../src/app.js';
import type { Db } from '../../src/platform/db/database.js';
import { type Actor, createActor, createAdmin } from './actors.js';
import type { MovableClock } from './mfa.js';
import { createProduct, fund, placeOrder } from './shop.js';

export const CALLERS = ['anonymous', 'owner', 'other', 'moderator', 'admin'] as const;
export type Caller = (typeof CALLERS)[number];

/** How long a shared actor is reused: well inside the 5-minute recent-login window. */
const SHARED_FOR_MS = 4 * 60_000;

export class World {
  private readonly shared = new Map<Caller, { actor: Actor; at: number }>();
  private productId: string | undefined;

  constructor(
    readonly app: App,
    readonly db: Db,
    readonly clock: MovableClock,
  ) {}

  /** A new account for the caller's role (`owner` and `other` are plain users). */
  async fresh(caller: Exclude<Caller, 'anonymous'>): Promise<Actor> {
    if (caller === 'admin') return createAdmin(this.app, this.db, this.clock);
    const roles: Role[] = caller === 'moderator' ? ['moderator'] : [];
    return createActor(this.app, this.db, { roles, prefix: caller });
  }

  /** A shared account for the caller's role, made anew once it is a few minutes old. */
  async actor(caller: Exclude<Caller, 'anonymous'>): Promise<Actor> {
    const hit = this.shared.get(caller);
    if (hit && this.clock.now() - hit.at < SHARED_FOR_MS) return hit.actor;
    const actor = await this.fresh(caller);
    this.shared.set(caller, { actor, at: this.clock.now() });
    return actor;
  }

  /** A product in stock at 1.00, made by an admin. */
  async product(fresh = false): Promise<string> {
    if (fresh || !this.productId) {
      const admin = await this.actor('admin');
      const id = await createProduct(this.app, admin.headers, { priceCents: 100, stock: 1000 });
      if (fresh) return id;
      this.productId = id;
    }
    return this.productId;
  }

  async funded(actor: Actor, cents = 10_000): Promise<Actor> {
    await fund(this.db, actor.userId, cents);
    return actor;
  }

  async order(owner: Actor): Promise<string> {
    await this.funded(owner, 1_000);
    const res = await placeOrder(this.app, owner.headers, {
      items: [{ productId: await this.product(), quantity: 1 }],
    });
    if (res.statusCode !== 201) throw new Error(`order failed: ${res.statusCode} ${res.body}`);
    return res.json().id;
  }

  async post(owner: Actor): Promise<string> {
    const res = await this.app.inject({
      method: 'POST',
      url: '/posts',
      headers: owner.headers,
      payload: { title: 'Owned post', content: '<p>mine</p>' },
    });
    if (res.statusCode !== 201) throw new Error(`post failed: ${res.statusCode} ${res.body}`);
    return res.json().id;
  }

  async comment(owner: Actor): Promise<string> {
    const postId = await this.post(owner);
    const res = await this.app.inject({
      method: 'POST',
      url: `/posts/${postId}/comments`,
      headers: owner.headers,
      payload: { content: 'my comment' },
    });
    if (res.statusCode !== 201) throw new Error(`comment failed: ${res.statusCode} ${res.body}`);
    return res.json().id;
  }

  /** The id of one of the owner's live sessions (the `sid` of their access token). */
  sessionOf(owner: Actor): string {
    const payload = owner.accessToken.split('.')[1] as string;
    return JSON.parse(Buffer.from(payload, 'base64url').toString()).sid;
  }
}
