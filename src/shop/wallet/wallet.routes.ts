/** The caller's own wallet: balance and ledger (DESIGN.md, Shop). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../access/policy.js';
import type { ShopDeps } from '../shop.deps.js';
import { PageQuery, toPage } from '../shop.schemas.js';
import { LedgerPage, WalletView } from './wallet.schemas.js';
import { balanceOf, listEntries } from './wallet.store.js';

const tags = ['shop'];

export function walletRoutes(deps: ShopDeps) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/wallet',
      { config: { access: 'authenticated' }, schema: { tags, response: { 200: WalletView } } },
      async (request, reply) => {
        const balanceCents = await balanceOf(deps.db, principalOf(request).userId);
        reply.header('cache-control', 'no-store');
        return { balanceCents, currency: deps.config.currency };
      },
    );

    r.get(
      '/wallet/ledger',
      {
        config: { access: 'authenticated' },
        schema: { tags, querystring: PageQuery, response: { 200: LedgerPage } },
      },
      async (request, reply) => {
        const { limit, cursor } = request.query;
        const rows = await listEntries(deps.db, principalOf(request).userId, limit + 1, cursor);
        reply.header('cache-control', 'no-store');
        return toPage(rows, limit, (e) => ({
          id: e.id,
          amountCents: Number(e.amount_cents),
          kind: e.kind,
          reference: e.reference,
          createdAt: e.created_at.toISOString(),
        }));
      },
    );
  };
}
