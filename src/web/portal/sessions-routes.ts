import Router from '@koa/router';
import type { Context } from 'koa';
import type { AppContext } from '../http/app-context.ts';
import { requestOrigin } from '../../audit/audit-log.ts';
import { notFound } from '../../platform/errors.ts';
import { requireAccount, type SignedInAccount } from '../http/account-session.ts';
import { confirmedAction } from '../http/confirm-action.ts';
import { pageParam, paginateArray } from '../../db/pagination.ts';
import { isHtmx, noticeFrom, redirectWithNotice, render } from '../http/render.ts';
import { endOtherSessions, endSession, listSessions } from '../../sessions/sessions.ts';

const notices = { 'signed-out': 'That session is signed out.', 'signed-out-others': 'Every other session is signed out.', 'none-others': 'There were no other sessions.' };
const uidPattern = /^[\w-]{8,64}$/;

/** /account/sessions: every signed-in browser and device, with "Sign out" on each and everywhere else. */
export function sessionsRoutes(hub: Pick<AppContext, 'db' | 'views'>): Router {
  const router = new Router();
  const listData = async (ctx: Context) => {
    const account = ctx.state.account as SignedInAccount;
    const all = await listSessions(hub.db, account.user.id, account.sessionUid);
    const { items, pager } = paginateArray(all, pageParam(ctx.query.page), 10);
    return { title: 'Sessions', section: 'sessions', sessions: items, pager, others: all.filter((s) => !s.current).length };
  };

  router.get('/account/sessions', requireAccount(), async (ctx) => {
    const data = await listData(ctx);
    render(ctx, hub.views, isHtmx(ctx) ? 'partials/session-list.njk' : 'portal/sessions.njk', { ...data, notice: noticeFrom(ctx, notices) });
  });

  const sessionFor = async (ctx: Context) => {
    const account = ctx.state.account as SignedInAccount;
    const uid = String(ctx.params.uid ?? '');
    const session = uidPattern.test(uid) ? (await listSessions(hub.db, account.user.id, account.sessionUid)).find((s) => s.uid === uid) : undefined;
    if (!session) throw notFound('That session has already ended.');
    return session;
  };

  confirmedAction(router, hub.views, '/account/sessions/:uid/sign-out', {
    ask: async (ctx) => {
      const session = await sessionFor(ctx);
      return {
        title: 'Sign out this session?',
        section: 'sessions',
        message: `${session.device.name}${session.ip ? ` (${session.ip})` : ''} will be signed out of UniQVerse and every service it used.`,
        button: 'Sign out',
        cancelUrl: '/account/sessions',
      };
    },
    act: async (ctx) => {
      const account = ctx.state.account as SignedInAccount;
      const session = await sessionFor(ctx);
      await endSession(hub.db, account.user.id, session.uid, requestOrigin(ctx));
      if (session.current) return ctx.redirect('/account');
      if (!isHtmx(ctx)) return redirectWithNotice(ctx, '/account/sessions', 'signed-out');
      render(ctx, hub.views, 'partials/session-list.njk', { ...(await listData(ctx)), notice: notices['signed-out'] });
    },
  });

  confirmedAction(router, hub.views, '/account/sessions/sign-out-others', {
    ask: () => ({
      title: 'Sign out everywhere else?',
      section: 'sessions',
      message: 'Every browser and device except this one will be signed out of UniQVerse and of the services they used.',
      button: 'Sign out everywhere else',
      cancelUrl: '/account/sessions',
    }),
    act: async (ctx) => {
      const account = ctx.state.account as SignedInAccount;
      const ended = await endOtherSessions(hub.db, account.user.id, account.sessionUid, requestOrigin(ctx));
      const notice = ended ? 'signed-out-others' : 'none-others';
      if (!isHtmx(ctx)) return redirectWithNotice(ctx, '/account/sessions', notice);
      render(ctx, hub.views, 'partials/session-list.njk', { ...(await listData(ctx)), notice: notices[notice] });
    },
  });
  return router;
}
