/**
 * `/admin/audit-log` (the audit log, newest first, paged by `seq`; "Verify chain" recomputes the
 * whole chain as `GET /admin/audit/verify` does) and `/admin/security-log` (the security events
 * of `GET /admin/security-events`). The API owns `/admin/audit` and `/admin/security-events`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AuditQuery } from '../../admin/audit/audit.schemas.js';
import { EventQuery, readSecurityEvents } from '../../admin/security-events.routes.js';
import { readAuditBefore } from '../../platform/audit/audit.store.js';
import { type ChainReport, verifyAuditChain } from '../../platform/audit/audit.verify.js';
import { sendPage } from '../render.js';
import { PAGE, type WebDeps } from '../web.deps.js';
import { adminSession } from './admin-access.js';

const PAGE_SIZE = 50;
const AuditPageQuery = AuditQuery.omit({ limit: true });
const EventPageQuery = EventQuery.omit({ limit: true }).extend({
  // An empty filter box is no filter.
  type: z.preprocess((v) => (v === '' ? undefined : v), EventQuery.shape.type),
});
const CsrfForm = z.strictObject({ _csrf: z.string().max(200) });

function utc(date: Date | string): string {
  const iso = typeof date === 'string' ? date : date.toISOString();
  return `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}

export function adminLogPages(deps: WebDeps) {
  const { login, render, forms } = deps;
  const { sessions } = login;

  const auditPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    cursor: string | undefined,
    report?: ChainReport,
  ) => {
    const rows = await readAuditBefore(sessions.db, cursor, PAGE_SIZE + 1);
    const page = rows.slice(0, PAGE_SIZE);
    const last = page.at(-1);
    return sendPage(reply, render, 'admin-audit', {
      title: 'Audit log',
      wide: true,
      signedIn: true,
      csrf: forms.token(request, reply),
      report,
      entries: page.map((e) => ({ ...e, at: utc(e.at) })),
      next: rows.length > PAGE_SIZE && last ? `/admin/audit-log?cursor=${last.seq}` : undefined,
    });
  };

  return async (app: FastifyInstance) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/admin/audit-log',
      { config: PAGE, schema: { hide: true, querystring: AuditPageQuery } },
      async (request, reply) => {
        const current = await adminSession(sessions, request, reply, '/admin/audit-log');
        if (!current) return reply;
        return auditPage(request, reply, request.query.cursor);
      },
    );

    r.get('/admin/audit-log/verify', { config: PAGE, schema: { hide: true } }, (_request, reply) =>
      reply.redirect('/admin/audit-log', 302),
    );

    // A POST with `_csrf`: another site cannot make an admin's browser run the whole check.
    r.post(
      '/admin/audit-log/verify',
      { config: PAGE, preValidation: [forms.check], schema: { hide: true, body: CsrfForm } },
      async (request, reply) => {
        const current = await adminSession(sessions, request, reply, '/admin/audit-log');
        if (!current) return reply;
        const report = await verifyAuditChain(sessions.audit, sessions.db);
        return auditPage(request, reply, undefined, report);
      },
    );

    r.get(
      '/admin/security-log',
      { config: PAGE, schema: { hide: true, querystring: EventPageQuery } },
      async (request, reply) => {
        const current = await adminSession(sessions, request, reply, '/admin/security-log');
        if (!current) return reply;
        const { type, cursor } = request.query;
        const { items, nextCursor } = await readSecurityEvents(sessions.db, {
          type,
          cursor,
          limit: PAGE_SIZE,
        });
        let next: string | undefined;
        if (nextCursor) {
          const params = new URLSearchParams();
          if (type) params.set('type', type);
          params.set('cursor', nextCursor);
          next = `/admin/security-log?${params.toString()}`;
        }
        return sendPage(reply, render, 'admin-events', {
          title: 'Security events',
          wide: true,
          signedIn: true,
          type: type ?? '',
          next,
          events: items.map((e) => ({
            ...e,
            createdAt: utc(e.createdAt),
            detail: JSON.stringify(e.detail),
          })),
        });
      },
    );
  };
}
