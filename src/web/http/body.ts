import type { Context, Next } from 'koa';
import { koaBody } from 'koa-body';

/**
 * Bodies for our own routes only: the provider parses its own. Small limits; bad bodies become
 * 4xx. A body of another type (JSON to a form route, no content type) leaves an empty object,
 * so a route reading a field finds it missing and answers 400, never a 500.
 */
function alwaysAnObject(parse: ReturnType<typeof koaBody>): ReturnType<typeof koaBody> {
  return async function parseBody(ctx: Context, next: Next) {
    await parse(ctx, async () => {
      const body = ctx.request.body as unknown;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) ctx.request.body = {};
      await next();
    });
  } as ReturnType<typeof koaBody>;
}

export const formBody = alwaysAnObject(
  koaBody({
    urlencoded: true,
    json: false,
    text: false,
    multipart: false,
    formLimit: '64kb',
  }),
);

export const jsonBody = alwaysAnObject(
  koaBody({
    urlencoded: true,
    json: true,
    jsonStrict: true,
    text: false,
    multipart: false,
    jsonLimit: '256kb',
    formLimit: '64kb',
  }),
);
