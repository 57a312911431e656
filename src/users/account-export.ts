/**
 * `GET /users/me/export` (issue 19): everything stored about the caller, read column by column
 * (never `selectAll`), so a secret column (password hash, TOTP secret, recovery-code hashes,
 * refresh-token hashes, one-time-token hashes, idempotency records) is never even read. Rows that
 * name someone else are cut down to the caller's part: an audit entry written by an administrator
 * about the caller keeps its action, time and detail but not the administrator's address; an
 * entry the caller wrote about something else keeps no detail and no other account's id; a
 * security event's `targetId` (an admin action) is dropped when it is another account's.
 */
import { toSelfView } from '../auth/accounts/accounts.schemas.js';
import type { Db } from '../platform/db/database.js';
import { platformError } from '../platform/errors.js';
import { walletAccount } from '../shop/wallet/wallet.store.js';
import type { AccountExport } from './me.schemas.js';
import '../auth/oauth/identities.tables.js';
import '../shop/posts/posts.tables.js';
import '../shop/shop.tables.js';

const iso = (d: Date | string) => new Date(d).toISOString();

export async function exportAccount(
  db: Db,
  userId: string,
  currentSessionId: string,
  currency: string,
  now: Date,
): Promise<AccountExport> {
  const user = await db
    .selectFrom('users')
    .select([
      'id',
      'email',
      'display_name',
      'roles',
      'email_verified_at',
      'locked',
      'mfa_enabled',
      'avatar_url',
      'created_at',
    ])
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!user) throw platformError('unauthorized');

  const sessions = await db
    .selectFrom('sessions')
    .select([
      'id',
      'created_at',
      'last_used_at',
      'auth_time',
      'expires_at',
      'revoked_at',
      'ip',
      'user_agent',
      'mfa',
    ])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
  const identities = await db
    .selectFrom('identities')
    .select(['id', 'provider', 'issuer', 'subject', 'email', 'created_at', 'last_login_at'])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
  const wallet = await db
    .selectFrom('wallets')
    .select('balance_cents')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  const orders = await db
    .selectFrom('orders')
    .select(['id', 'total_cents', 'currency', 'instructions', 'status', 'created_at'])
    .where('user_id', '=', userId)
    .orderBy('id')
    .execute();
  const items =
    orders.length === 0
      ? []
      : await db
          .selectFrom('order_items')
          .select(['order_id', 'product_id', 'quantity', 'unit_price_cents'])
          .where(
            'order_id',
            'in',
            orders.map((o) => o.id),
          )
          .orderBy('order_id')
          .orderBy('position')
          .execute();
  const ledger = await db
    .selectFrom('ledger_entries')
    .select(['id', 'amount_cents', 'currency', 'kind', 'reference', 'created_at'])
    .where('account', '=', walletAccount(userId))
    .orderBy('id')
    .execute();
  const posts = await db
    .selectFrom('posts')
    .select(['id', 'title', 'content', 'created_at', 'updated_at'])
    .where('author_id', '=', userId)
    .orderBy('id')
    .execute();
  const comments = await db
    .selectFrom('comments')
    .select(['id', 'post_id', 'content', 'created_at'])
    .where('author_id', '=', userId)
    .orderBy('id')
    .execute();
  const audit = await db
    .selectFrom('audit_log')
    .select(['id', 'at', 'actor_id', 'action', 'target_type', 'target_id', 'ip', 'detail'])
    .where((eb) =>
      eb.or([
        eb('actor_id', '=', userId),
        eb.and([eb('target_type', '=', 'user'), eb('target_id', '=', userId)]),
      ]),
    )
    .orderBy('seq')
    .execute();
  const events = await db
    .selectFrom('security_events')
    .select(['id', 'type', 'ip', 'detail', 'created_at'])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();

  return {
    exportedAt: now.toISOString(),
    // The full self view, plus nothing: the same shape as GET /users/:id for oneself.
    user: toSelfView(user),
    sessions: sessions.map((s) => ({
      id: s.id,
      createdAt: iso(s.created_at),
      lastUsedAt: iso(s.last_used_at),
      authTime: iso(s.auth_time),
      expiresAt: iso(s.expires_at),
      revokedAt: s.revoked_at ? iso(s.revoked_at) : null,
      ip: s.ip,
      userAgent: s.user_agent,
      mfa: s.mfa,
      current: s.id === currentSessionId,
    })),
    identities: identities.map((i) => ({
      id: i.id,
      provider: i.provider,
      issuer: i.issuer,
      subject: i.subject,
      email: i.email,
      createdAt: iso(i.created_at),
      lastLoginAt: iso(i.last_login_at),
    })),
    wallet: wallet ? { balanceCents: Number(wallet.balance_cents), currency } : null,
    orders: orders.map((o) => ({
      id: o.id,
      items: items
        .filter((i) => i.order_id === o.id)
        .map((i) => ({
          productId: i.product_id,
          quantity: i.quantity,
          unitPriceCents: Number(i.unit_price_cents),
        })),
      totalCents: Number(o.total_cents),
      currency: o.currency,
      instructions: o.instructions,
      status: o.status,
      createdAt: iso(o.created_at),
    })),
    ledger: ledger.map((e) => ({
      id: e.id,
      amountCents: Number(e.amount_cents),
      currency: e.currency,
      kind: e.kind,
      reference: e.reference,
      createdAt: iso(e.created_at),
    })),
    posts: posts.map((p) => ({
      id: p.id,
      title: p.title,
      content: p.content,
      createdAt: iso(p.created_at),
      updatedAt: iso(p.updated_at),
    })),
    comments: comments.map((c) => ({
      id: c.id,
      postId: c.post_id,
      content: c.content,
      createdAt: iso(c.created_at),
    })),
    auditEntries: audit.map((a) => {
      const bySelf = a.actor_id === userId;
      const aboutSelf = a.target_type === 'user' && a.target_id === userId;
      const otherUser = a.target_type === 'user' && !aboutSelf;
      return {
        id: a.id,
        at: iso(a.at),
        action: a.action,
        bySelf,
        targetType: a.target_type,
        targetId: otherUser ? null : a.target_id,
        ip: bySelf ? a.ip : null,
        detail: aboutSelf ? a.detail : {},
      };
    }),
    securityEvents: events.map((e) => {
      const { targetId, ...rest } = e.detail as Record<string, unknown>;
      const detail = targetId === undefined || targetId === userId ? e.detail : rest;
      return { id: e.id, type: e.type, createdAt: iso(e.created_at), ip: e.ip, detail };
    }),
  };
}
