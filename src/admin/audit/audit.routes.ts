/** `GET /admin/audit` (newest first) and `GET /admin/audit/verify` (recompute the chain). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type AuditChain, readAuditBefore } from '../../platform/audit/audit.store.js';
import { verifyAuditChain } from '../../platform/audit/audit.verify.js';
import type { Db } from '../../platform/db/database.js';
import { AuditList, AuditQuery, ChainReportView } from './audit.schemas.js';

export function auditRoutes(db: Db, chain: AuditChain) {
  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    const admin = { access: { roles: ['admin'] as const } };
    const tags = ['admin'];
    const security = [{ bearer: [] }];

    r.get(
      '/admin/audit',
      {
        config: admin,
        schema: { tags, security, querystring: AuditQuery, response: { 200: AuditList } },
      },
      async (request) => {
        const { cursor, limit } = request.query;
        const rows = await readAuditBefore(db, cursor, limit + 1);
        const page = rows.slice(0, limit);
        return {
          items: page.map((e) => ({ ...e, at: e.at.toISOString() })),
          nextCursor: rows.length > limit ? (page.at(-1)?.seq ?? null) : null,
        };
      },
    );

    r.get(
      '/admin/audit/verify',
      { config: admin, schema: { tags, security, response: { 200: ChainReportView } } },
      async () => verifyAuditChain(chain, db),
    );
  };
}
