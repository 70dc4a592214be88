import type { Context, Next } from 'koa';
import type { Logger } from '../../platform/logger.ts';
import { AppError } from '../../platform/errors.ts';
import { isRefusedCharacter, refusedCharacterMessage } from '../../db/refused-characters.ts';
import { databaseRetryAfter, databaseUnavailableMessage, isDatabaseUnavailable } from '../../db/unavailable.ts';
import type { Views } from '../../platform/views.ts';
import { render } from './render.ts';
import { translateFields, translateShown } from '../../platform/i18n.ts';
import { localeOf } from './locale.ts';

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message: string;
  code?: string;
  error?: string;
  error_description?: string;
  fields?: Record<string, string>;
  retryAfter?: number;
}

const wantsJson = (ctx: Context) =>
  ctx.path.startsWith('/api/') || ctx.path.startsWith('/hub/') || ctx.path.startsWith('/gateway/') || ctx.path === '/hub' || ctx.path === '/metrics' || (ctx.accepts('html', 'json') === 'json' && !ctx.get('HX-Request'));

/**
 * One place that turns any error into an answer the caller understands: a JSON problem for
 * APIs, a fragment for htmx, a page for browsers. Only errors marked as exposable show their
 * message; everything else is a 500 with a request id and the details in the log.
 */
export function errorHandler(views: Views, logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined && ctx.respond !== false) throw new AppError('not_found', 'There is nothing at this address.');
    } catch (thrown) {
      const caught = isRefusedCharacter(thrown)
        ? new AppError('invalid_input', refusedCharacterMessage, { cause: thrown })
        : !(thrown instanceof AppError) && isDatabaseUnavailable(thrown)
          ? new AppError('busy', databaseUnavailableMessage, { retryAfter: databaseRetryAfter, cause: thrown })
          : thrown;
      const error = caught as HttpLikeError;
      const status = error.status ?? error.statusCode ?? 500;
      const exposed = error instanceof AppError ? error.expose : status < 500 && error.expose !== false;
      const code = error instanceof AppError ? error.code : (error.error ?? (status === 404 ? 'not_found' : status < 500 ? 'bad_request' : 'internal'));
      const message = exposed ? (error.error_description ?? error.message) : 'Something went wrong on our side. Try again; if it keeps happening, tell us the request id.';
      const requestId = ctx.state.requestId as string | undefined;
      if (status >= 500) logger.error({ err: caught, requestId, path: ctx.path }, 'request failed');
      if (error.retryAfter) ctx.set('Retry-After', String(error.retryAfter));
      if (wantsJson(ctx)) {
        ctx.status = status;
        ctx.set('Cache-Control', 'no-store');
        ctx.type = 'application/problem+json';
        // `title` is the stable code; `detail` and `errors` are for people, in their language (Accept-Language).
        const locale = localeOf(ctx);
        ctx.body = { type: 'about:blank', title: code, status, detail: translateShown(locale, message), ...(error.fields ? { errors: translateFields(locale, error.fields) } : {}), ...(requestId ? { request_id: requestId } : {}) };
      } else if (ctx.get('HX-Request')) {
        render(ctx, views, 'partials/alert.njk', { error: message }, status);
      } else {
        render(ctx, views, 'error.njk', { title: status === 404 ? 'Page not found' : status < 500 ? 'That did not work' : 'Something went wrong', message, code, requestId }, status);
      }
    }
  };
}
