import Router from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { requestOrigin } from '../../audit/audit-log.ts';
import { listSigningKeys, rotateSigningKeys } from '../../oidc/signing-keys.ts';
import type { SignedInAccount } from '../http/account-session.ts';
import { pageParam, paginateArray } from '../../db/pagination.ts';
import { isHtmx, noticeFrom, redirectWithNotice, render } from '../http/render.ts';

const notices = { rotated: 'New keys are published. They start signing once every instance has loaded them.' };

/** /admin/keys: the signing keys, and rotation (the next key is published before it signs). */
export function keysRoutes(hub: Pick<AppContext, 'config' | 'db' | 'holder' | 'secrets' | 'views'>): Router {
  const router = new Router();
  const activationDelaySeconds = 2 * hub.config.keyRefreshSeconds;

  router.get('/admin/keys', async (ctx) => {
    const now = Date.now();
    const keys = (await listSigningKeys(hub.db)).map((k: { kid: string; alg: string; created_at: Date; activates_at: Date; expires_at: Date | null }) => ({
      ...k,
      state: k.expires_at && new Date(k.expires_at).getTime() <= now ? 'expired' : new Date(k.activates_at).getTime() > now ? 'pending' : k.expires_at ? 'retiring' : 'signing',
    }));
    const { items, pager } = paginateArray(keys, pageParam(ctx.query.page), 15);
    render(ctx, hub.views, isHtmx(ctx) ? 'admin/partials/key-table.njk' : 'admin/keys.njk', { title: 'Signing keys', section: 'admin', area: 'keys', keys: items, pager, activationDelaySeconds, notice: noticeFrom(ctx, notices) });
  });

  router.get('/admin/keys/rotate', (ctx) => {
    render(ctx, hub.views, 'portal/confirm.njk', {
      title: 'Rotate the signing keys?',
      section: 'admin',
      message: `A new key for each algorithm is published now and starts signing in ${activationDelaySeconds} seconds. The current keys keep verifying for a day, so no token stops working.`,
      action: '/admin/keys/rotate',
      button: 'Rotate keys',
      cancelUrl: '/admin/keys',
    });
  });

  router.post('/admin/keys/rotate', async (ctx) => {
    await rotateSigningKeys(hub.db, hub.secrets.keys, { activationDelaySeconds, rotatedBy: { ...requestOrigin(ctx), actorId: (ctx.state.account as SignedInAccount).user.id } });
    await hub.holder.refresh();
    redirectWithNotice(ctx, '/admin/keys', 'rotated');
  });
  return router;
}
