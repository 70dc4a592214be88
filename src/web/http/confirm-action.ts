import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Views } from '../../platform/views.ts';
import { requireAccount } from './account-session.ts';
import { recentSignInSeconds, requireRecentSignIn } from './recent-sign-in.ts';
import { render } from './render.ts';

/** What the page of its own asks (views/portal/confirm.njk); its form posts back to the same path. */
export interface Question {
  title: string;
  message: string;
  detail?: string;
  button: string;
  cancelUrl: string;
  /** false: the button is not red (nothing is lost). */
  danger?: boolean;
  /** The portal section the page belongs to (the navigation's current item). */
  section: string;
}

export interface ConfirmedAction {
  /** The question, after checking the thing still exists (a 404 otherwise). */
  ask: (ctx: Context) => Question | Promise<Question>;
  /** Does it and answers: a fragment to htmx, a redirect or a page otherwise. */
  act: (ctx: Context) => Promise<void>;
  /** Behind a sign-in from the last ten minutes; a stale POST is sent to sign in and back to this page. */
  recentFor?: string;
}

/**
 * A destructive action that asks once, at one path. The list's button (the confirmForm macro in
 * views/partials/confirm-form.njk) is a form that GETs `path` and hx-posts to it: without
 * JavaScript the GET shows the question on a page of its own, whose button posts; with
 * JavaScript htmx asks in the portal's dialog and posts at once. Only the POST changes anything.
 * With `recentFor`, a stale sign-in is sent through the sign-in pages before the question, and
 * back to it.
 */
export function confirmedAction(router: Router, views: Views, path: string, action: ConfirmedAction): void {
  const askGuard = requireAccount(action.recentFor ? { maxAgeSeconds: recentSignInSeconds } : {});
  router.get(path, askGuard, async (ctx) => {
    render(ctx, views, 'portal/confirm.njk', { ...(await action.ask(ctx)), action: ctx.path });
  });
  const actGuards = action.recentFor ? [requireAccount(), requireRecentSignIn(action.recentFor)] : [requireAccount()];
  router.post(path, ...actGuards, (ctx) => action.act(ctx));
}
