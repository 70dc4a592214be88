import Router from '@koa/router';
import type { Views } from '../../platform/views.ts';
import { render } from '../http/render.ts';

export const accountDeletedPath = '/account-deleted';

/** Where a deleted account lands: outside /account, which would ask them to sign in. */
export function accountDeletedRoutes(views: Views): Router {
  const router = new Router();
  router.get(accountDeletedPath, (ctx) => render(ctx, views, 'portal/account-deleted.njk', { title: 'Your account is deleted' }));
  return router;
}
