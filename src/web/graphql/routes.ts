import Router from '@koa/router';
import type { Context } from 'koa';
import { parse, specifiedRules, validate, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { createHandler, type Response as GraphqlResponse } from 'graphql-http';
import { createHandler as createSseHandler } from 'graphql-sse';
import { AppError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import { requestOrigin } from '../../audit/audit-log.ts';
import { InvalidToken } from '../../oidc/hub-token.ts';
import type { LiveHub } from '../../events/live-hub.ts';
import type { LiveAccess } from '../../events/live-connection.ts';
import type { Caller } from '../http/callers.ts';
import { graphqlCaller, throttleGraphql, type GraphqlCallerDeps, type PersonCaller } from './callers.ts';
import { codeOf, coded, formatGraphqlError, graphqlCodes } from './errors.ts';
import { withCodes } from './format.ts';
import { validationRules } from './limits.ts';
import { liveMessages } from './live.ts';
import { graphqlContext, type GraphqlContext } from './schema.ts';

export const graphqlPath = '/graphql';

export interface GraphqlDeps extends GraphqlCallerDeps {
  logger: Logger;
  /** NODE_ENV=production: no introspection for anonymous callers. */
  production: boolean;
  events: { live: LiveHub };
  /** How a subscription learns that its token or session ended (src/web/live/live-access.ts accessOf). */
  liveAccess: (caller: PersonCaller) => LiveAccess | null;
  /** The schema of the moment: the hub's own and the services' declared fields (service-graphs.ts). */
  graphs: { current(): Promise<GraphQLSchema> };
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

function answer(ctx: Context, [text, init]: GraphqlResponse): void {
  for (const [name, value] of Object.entries(init.headers ?? {})) ctx.set(name, String(value));
  ctx.status = init.status;
  ctx.body = text ?? '';
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

/** The caller, once the CSRF token and the rate limit let them in; null: anonymous. Throws AppError. */
async function admit(deps: GraphqlDeps, ctx: Context): Promise<Caller | null> {
  const caller = await graphqlCaller(deps, ctx);
  await throttleGraphql(deps, ctx, caller);
  return caller;
}

/**
 * GraphQL at /graphql: over HTTP (GET for queries, POST for both; application/graphql-response+json
 * or application/json; graphql-http), and subscriptions over SSE (`Accept: text/event-stream`,
 * graphql-sse's distinct connections mode), with the callers, limits and errors of the hub.
 * graphql-ws is on the same path (src/web/graphql/websocket.ts).
 */
export function graphqlRoutes(deps: GraphqlDeps): Router {
  const router = new Router();
  const contexts = new WeakMap<object, GraphqlContext>();
  const contextFor = (ctx: Context, caller: Caller | null, transport: 'sse' | null) => {
    const openLive: GraphqlContext['openLive'] = transport
      ? (me, since) => liveMessages(deps.events.live, { viewer: { userId: me.user.id, all: false }, access: deps.liveAccess(me), since, address: ctx.ip, transport })
      : null;
    return graphqlContext(deps.db, caller, requestOrigin(ctx), openLive);
  };

  const handler = createHandler<Context, undefined, Record<string, unknown>>({
    schema: async (req) => {
      try {
        return await deps.graphs.current();
      } catch (error) {
        if (error instanceof AppError) return refusal(req.raw, error);
        throw error;
      }
    },
    context: async (req) => {
      const ctx = req.raw;
      try {
        const context = contextFor(ctx, await admit(deps, ctx), null);
        contexts.set(ctx, context);
        return context as unknown as Record<string, unknown>;
      } catch (error) {
        if (error instanceof AppError) return refusal(ctx, error);
        throw error;
      }
    },
    validationRules: (req, _args, specified) => validationRules(specified, { anonymous: !contexts.get(req.raw)?.caller, production: deps.production }),
    formatError: formatGraphqlError(deps.logger),
  });

  const codes = withCodes(deps.logger);
  const limitedValidate = (anonymous: boolean) => (schema: GraphQLSchema, document: DocumentNode) => validate(schema, document, validationRules(specifiedRules, { anonymous, production: deps.production }));
  const sse = createSseHandler<Context, undefined, Record<string, unknown>>({
    context: (req) => contexts.get(req.raw) as unknown as Record<string, unknown>,
    onSubscribe: async (req, params) => {
      let schema: GraphQLSchema;
      try {
        schema = await deps.graphs.current();
      } catch (error) {
        if (error instanceof AppError) return codes({ errors: [coded(codeOf(error), error.message)] });
        throw error;
      }
      const context = contexts.get(req.raw)!;
      let document: DocumentNode;
      try {
        document = typeof params.query === 'string' ? parse(params.query) : params.query;
      } catch (error) {
        return codes({ errors: [error as never] });
      }
      const errors = limitedValidate(!context.caller)(schema, document);
      if (errors.length) return codes({ errors });
      return { schema, document, variableValues: params.variables ?? null, operationName: params.operationName ?? null, contextValue: context as unknown as Record<string, unknown> };
    },
    onNext: (_ctx, _req, result) => codes(result as ExecutionResult),
  });

  const serveSse = async (ctx: Context) => {
    try {
      contexts.set(ctx, contextFor(ctx, await admit(deps, ctx), 'sse'));
    } catch (error) {
      if (error instanceof AppError) return answer(ctx, refusal(ctx, error));
      throw error;
    }
    const [body, init] = await sse({
      url: ctx.url,
      method: ctx.method,
      headers: { get: (key: string) => ctx.get(key) || null },
      body: () => (ctx.method === 'POST' ? readBody(ctx) : null),
      raw: ctx,
      context: undefined,
    });
    if (!body || typeof body === 'string') {
      ctx.status = init.status;
      for (const [name, value] of Object.entries(init.headers ?? {})) ctx.set(name, String(value));
      ctx.body = body ?? '';
      return;
    }
    const { req, res } = ctx;
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    ctx.respond = false;
    res.writeHead(init.status, { ...(init.headers as Record<string, string>), 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    const stop = () => void body.return(undefined);
    res.once('close', stop);
    for await (const chunk of body) {
      if (res.destroyed || !res.writable) break;
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
    }
    res.off('close', stop);
    res.end();
  };

  const serve = async (ctx: Context) => {
    ctx.set('Cache-Control', 'no-store');
    if (ctx.get('Accept') === 'text/event-stream') return serveSse(ctx);
    let body: string | null = null;
    try {
      if (ctx.method === 'POST') body = await readBody(ctx);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return answer(ctx, refusal(ctx, error));
    }
    try {
      answer(ctx, await handler({ method: ctx.method, url: ctx.url, headers: ctx.headers, body, raw: ctx, context: undefined }));
    } catch (error) {
      deps.logger.error({ err: error }, 'GraphQL request failed');
      answer(ctx, refusal(ctx, new AppError('internal', 'Something went wrong on our side.'), graphqlCodes.internal));
    }
  };
  router.get(graphqlPath, serve);
  router.post(graphqlPath, serve);
  return router;
}
