import Router from '@koa/router';
import type { AppContext } from '../http/app-context.ts';
import { notFound } from '../../platform/errors.ts';
import { listStoredMail } from '../../platform/mail/mailer.ts';
import { render } from '../http/render.ts';

const linksIn = (text: string) => [...new Set(text.match(/https?:\/\/[^\s<>"]+/g) ?? [])];

/** Development only (not when NODE_ENV=production, not with SMTP): the mail the hub wrote to DATA_DIR/mail. */
export function mailboxRoutes(hub: Pick<AppContext, 'config' | 'mailer' | 'views'>): Router {
  const router = new Router();
  const dir = hub.mailer.mailDir;
  if (hub.config.production || !dir) return router;

  router.get('/dev/mailbox', (ctx) => render(ctx, hub.views, 'dev/mailbox.njk', { title: 'Development mailbox', dir, messages: listStoredMail(dir) }));

  router.get('/dev/mailbox/:id', (ctx) => {
    const message = listStoredMail(dir).find((m) => m.id === ctx.params.id);
    if (!message) throw notFound('There is no such message in the development mailbox.');
    render(ctx, hub.views, 'dev/mailbox.njk', { title: message.subject, dir, message, links: linksIn(message.text) });
  });

  // The HTML part as a mail client would show it: sandboxed, so nothing in it runs or loads.
  router.get('/dev/mailbox/:id/html', (ctx) => {
    const message = listStoredMail(dir).find((m) => m.id === ctx.params.id);
    if (!message?.html) throw notFound('This message has no HTML part.');
    ctx.set('Content-Security-Policy', "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = message.html;
  });
  return router;
}
