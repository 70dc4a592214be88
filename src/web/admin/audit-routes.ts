import Router from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { verifyAuditChain } from '../../audit/verify.ts';
import { auditQueries } from '../../queries/audit-log.ts';
import { openAuditRows } from '../../audit/personal-seal.ts';
import { pageParam, paginate } from '../../db/pagination.ts';
import { isHtmx, render } from '../http/render.ts';

type AuditSearchRow = { ip: string | null; user_agent: string | null; data: Record<string, unknown> };

const text = (value: unknown) => (typeof value === 'string' ? value.trim().slice(0, 200) : '');

/** /admin/audit: browse and filter the audit log, and verify its hash chain. */
export function auditRoutes(hub: Pick<AppContext, 'config' | 'db' | 'views'>): Router {
  const router = new Router();
  router.get('/admin/audit', async (ctx) => {
    const filters = { action: text(ctx.query.action), who: text(ctx.query.who) };
    const { items, pager } = await paginate<AuditSearchRow>(auditQueries.search(hub.db, filters), pageParam(ctx.query.page), 25, filters);
    render(ctx, hub.views, isHtmx(ctx) ? 'admin/partials/audit-table.njk' : 'admin/audit.njk', { title: 'Audit log', section: 'admin', area: 'audit', entries: await openAuditRows(hub.db, items), pager, filters });
  });

  router.post('/admin/audit/verify', async (ctx) => {
    const report = await verifyAuditChain(hub.db, { dataDir: hub.config.dataDir, secret: hub.config.secret });
    if (isHtmx(ctx)) return render(ctx, hub.views, 'admin/partials/audit-verify.njk', { report });
    const filters = { action: '', who: '' };
    const { items, pager } = await paginate<AuditSearchRow>(auditQueries.search(hub.db, filters), 1, 25, filters);
    render(ctx, hub.views, 'admin/audit.njk', { title: 'Audit log', section: 'admin', area: 'audit', entries: await openAuditRows(hub.db, items), pager, filters, report });
  });
  return router;
}
