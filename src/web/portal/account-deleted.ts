import Router from '@koa/router';
import type { Views } from '../../platform/views.ts';

export const accountDeletedPath = '/account-deleted';

/** Where a deleted account lands: outside /account, which would ask them to sign in. */
export function accountDeletedRoutes(views: Views): Router {
  const router = new Router();
  router.get(accountDeletedPath, (ctx) => {
    ctx.type = 'html';
    ctx.body = views.render('portal/account-deleted.njk', { title: 'Your account is deleted' });
  });
  return router;
}
