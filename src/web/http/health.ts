import Router from '@koa/router';
import type { AppContext } from './app-context.ts';
import { ping } from '../../db/server-info.ts';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/**
 * /healthz: the process answers. /readyz: the database answers, and every readiness check the hub
 * passes in (Redis, migrations, signing keys) holds; the body names each check and what is wrong.
 */
export function healthRoutes(hub: Pick<AppContext, 'db'> & { readiness?: ReadinessCheck[] }): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks: Record<string, string> = {};
    const all: ReadinessCheck[] = [{ name: 'database', check: () => ping(hub.db) }, ...(hub.readiness ?? [])];
    let ready = true;
    await Promise.all(
      all.map(async ({ name, check }) => {
        try {
          await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), 2000).unref())]);
          checks[name] = 'ok';
        } catch (error) {
          ready = false;
          checks[name] = (error as Error).message || 'failed';
        }
      }),
    );
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ok' : 'unavailable', checks };
  });
  return router;
}
