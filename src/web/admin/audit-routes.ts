import Router from '@koa/router';
import type { Knex } from 'knex';
import type { AppContext } from '../http/app-context.ts';
import { verifyAuditChain } from '../../audit/verify.ts';
import { pageParam, paginate } from '../../queries/pagination.ts';
import { isHtmx, render } from '../http/render.ts';

const text = (value: unknown) => (typeof value === 'string' ? value.trim().slice(0, 200) : '');

/** The audit log, newest first, filtered by action (prefix) and by whom it concerns (email). */
function auditQuery(db: Knex, filters: { action: string; who: string }) {
  const query = db('audit_log as a')
    .leftJoin('users as s', 's.id', 'a.subject_id')
    .leftJoin('users as u', 'u.id', 'a.actor_id')
    .orderBy('a.seq', 'desc')
    .select('a.seq', 'a.occurred_at', 'a.action', 'a.ip', 'a.user_agent', 'a.data', 'a.subject_id', 'a.actor_id', 's.email as subject_email', 'u.email as actor_email');
  if (filters.action) query.whereILike('a.action', `${filters.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (filters.who) {
    const like = `%${filters.who.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query.where((w) => w.whereILike('s.email', like).orWhereILike('u.email', like));
  }
  return query;
}

/** /admin/audit: browse and filter the audit log, and verify its hash chain. */
export function auditRoutes(hub: Pick<AppContext, 'config' | 'db' | 'views'>): Router {
  const router = new Router();
  router.get('/admin/audit', async (ctx) => {
    const filters = { action: text(ctx.query.action), who: text(ctx.query.who) };
    const { items, pager } = await paginate(auditQuery(hub.db, filters), pageParam(ctx.query.page), 25, filters);
    render(ctx, hub.views, isHtmx(ctx) ? 'admin/partials/audit-table.njk' : 'admin/audit.njk', { title: 'Audit log', section: 'admin', area: 'audit', entries: items, pager, filters });
  });

  router.post('/admin/audit/verify', async (ctx) => {
    const report = await verifyAuditChain(hub.db, { dataDir: hub.config.dataDir, secret: hub.config.secret });
    if (isHtmx(ctx)) return render(ctx, hub.views, 'admin/partials/audit-verify.njk', { report });
    const filters = { action: '', who: '' };
    const { items, pager } = await paginate(auditQuery(hub.db, filters), 1, 25, filters);
    render(ctx, hub.views, 'admin/audit.njk', { title: 'Audit log', section: 'admin', area: 'audit', entries: items, pager, filters, report });
  });
  return router;
}
