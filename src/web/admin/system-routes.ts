import { readFileSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { appliedMigrationCount, serverVersion } from '../../db/server-info.ts';
import { outboxQueries } from '../../queries/outbox.ts';
import { projectRoot } from '../../platform/views.ts';
import { render } from '../http/render.ts';

const version = (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** /admin/system: version, database, Redis, and how far the event relay is behind. */
export function systemRoutes(hub: Pick<AppContext, 'config' | 'db' | 'views'>): Router {
  const router = new Router();
  router.get('/admin/system', async (ctx) => {
    const [backlog, dbVersion, migrations] = await Promise.all([
      outboxQueries.backlog(hub.db),
      serverVersion(hub.db),
      appliedMigrationCount(hub.db),
    ]);
    render(ctx, hub.views, 'admin/system.njk', {
      title: 'System',
      section: 'admin',
      area: 'system',
      system: {
        version,
        node: process.version,
        database: hub.config.database.kind === 'postgres' ? 'PostgreSQL server' : 'PGlite (embedded PostgreSQL)',
        databaseVersion: dbVersion.split(' on ')[0],
        migrations,
        redis: Boolean(hub.config.redisUrl),
        relayLagSeconds: Math.round(backlog.lagSeconds * 10) / 10,
        relayWaiting: backlog.waiting,
        uptimeSeconds: Math.round(process.uptime()),
        issuer: hub.config.issuer,
      },
    });
  });
  return router;
}
