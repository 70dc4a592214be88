import Router from '@koa/router';
import type { Context } from 'koa';
import { createHandler, type Response as GraphqlResponse } from 'graphql-http';
import { AppError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import { requestOrigin } from '../../audit/audit-log.ts';
import { InvalidToken } from '../../oidc/hub-token.ts';
import type { Caller } from '../http/callers.ts';
import { graphqlCaller, throttleGraphql, type GraphqlCallerDeps } from './callers.ts';
import { codeOf, formatGraphqlError, graphqlCodes } from './errors.ts';
import { validationRules } from './limits.ts';
import { graphqlContext, hubSchema } from './schema.ts';

export const graphqlPath = '/graphql';

export interface GraphqlDeps extends GraphqlCallerDeps {
  logger: Logger;
  /** NODE_ENV=production: no introspection for anonymous callers. */
  production: boolean;
}

/** The largest request body /graphql reads. */
const bodyLimit = 64 * 1024;

const mediaTypeFor = (ctx: Context) => (/application\/graphql-response\+json/i.test(ctx.get('Accept')) ? 'application/graphql-response+json' : 'application/json');

/** A refusal before any GraphQL runs (no token, a bad one, no CSRF token, too many requests, too big a body): a GraphQL error with its code. */
function refusal(ctx: Context, error: AppError, code = codeOf(error)): GraphqlResponse {
  const headers: Record<string, string> = { 'content-type': `${mediaTypeFor(ctx)}; charset=utf-8` };
  if (error instanceof InvalidToken) headers['www-authenticate'] = error.challenge;
  if (error.retryAfter) headers['retry-after'] = String(error.retryAfter);
  return [JSON.stringify({ errors: [{ message: error.message, extensions: { code } }] }), { status: error.status, statusText: '', headers: headers as never }];
}

async function readBody(ctx: Context): Promise<string> {
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > bodyLimit) throw new AppError('payload_too_large', `Send at most ${bodyLimit / 1024} KiB.`);
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > bodyLimit) throw new AppError('payload_too_large', `Send at most ${bodyLimit / 1024} KiB.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * GraphQL over HTTP at /graphql (GET for queries, POST for both; application/graphql-response+json
 * or application/json): graphql-http's handler, with the callers, limits and errors of the hub.
 */
export function graphqlRoutes(deps: GraphqlDeps): Router {
  const router = new Router();
  const callers = new WeakMap<Context, Caller | null>();
  const handler = createHandler<Context, undefined, Record<string, unknown>>({
    schema: hubSchema,
    context: async (req) => {
      const ctx = req.raw;
      try {
        const caller = await graphqlCaller(deps, ctx);
        await throttleGraphql(deps, ctx, caller);
        callers.set(ctx, caller);
        return graphqlContext(deps.db, caller, requestOrigin(ctx)) as unknown as Record<string, unknown>;
      } catch (error) {
        if (error instanceof AppError) return refusal(ctx, error);
        throw error;
      }
    },
    validationRules: (req, _args, specified) => validationRules(specified, { anonymous: !callers.get(req.raw), production: deps.production }),
    formatError: formatGraphqlError(deps.logger),
  });

  const serve = async (ctx: Context) => {
    ctx.set('Cache-Control', 'no-store');
    let body: string | null = null;
    try {
      if (ctx.method === 'POST') body = await readBody(ctx);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const [text, init] = refusal(ctx, error);
      ctx.status = init.status;
      ctx.body = text;
      for (const [name, value] of Object.entries(init.headers ?? {})) ctx.set(name, String(value));
      return;
    }
    let answer: GraphqlResponse;
    try {
      answer = await handler({ method: ctx.method, url: ctx.url, headers: ctx.headers, body, raw: ctx, context: undefined });
    } catch (error) {
      deps.logger.error({ err: error }, 'GraphQL request failed');
      answer = refusal(ctx, new AppError('internal', 'Something went wrong on our side.'), graphqlCodes.internal);
    }
    const [text, init] = answer;
    for (const [name, value] of Object.entries(init.headers ?? {})) ctx.set(name, String(value));
    ctx.status = init.status;
    ctx.body = text ?? '';
  };
  router.get(graphqlPath, serve);
  router.post(graphqlPath, serve);
  return router;
}
