import Router from '@koa/router';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import type { GraphQLSchema } from 'graphql';
import { requestOrigin } from '../../audit/audit-log.ts';
import { serviceActor } from '../../audit/actors.ts';
import { declareGraphSource, removeGraphSource } from '../../catalog/graph-sources.ts';
import { badRequest, forbidden, notFound } from '../../platform/errors.ts';
import type { CallerDeps } from '../http/callers.ts';
import { graphSourceCheck } from '../../catalog/graph-declarations.ts';
import { serviceApi, type ServiceCaller } from './auth.ts';
import { jsonBody } from './routes.ts';

export interface GraphSourceApiDeps extends CallerDeps {
  db: Knex;
  hubSchema: GraphQLSchema;
  /** This instance serves a change at once; the others within their cache's lifetime. */
  graphs: { forget(): void };
}

/**
 * A service declares the part of /graphql it answers, or takes it out, with a client-credentials
 * token with the "graph" scope; only its own (the path names it, as the tier routes do).
 */
export function graphSourceApiRoutes(deps: GraphSourceApiDeps): Router {
  const router = new Router();
  const declarer = serviceApi(deps, 'graph');
  const ownService = (ctx: Context) => {
    const caller = ctx.state.caller as ServiceCaller;
    if (ctx.params.service !== caller.service.slug) throw forbidden(`This client belongs to ${caller.service.slug}: it may declare only ${caller.service.slug}'s fields.`);
    return { slug: caller.service.slug, actor: serviceActor(caller.service.slug, caller.clientId, requestOrigin(ctx).ip) };
  };

  router.put('/api/v1/services/:service/graph', declarer, jsonBody, async (ctx) => {
    const { slug, actor } = ownService(ctx);
    const sdl = (ctx.request.body as { sdl?: unknown } | undefined)?.sdl;
    if (typeof sdl !== 'string' || !sdl.trim()) throw badRequest('Send { "sdl": "<your types and extend type Query { ... @rest(path: ...) }>" }.', { sdl: 'Required.' });
    const fields = await declareGraphSource(deps.db, slug, sdl, graphSourceCheck(deps.hubSchema), actor);
    deps.graphs.forget();
    ctx.body = { service: slug, fields };
  });

  router.delete('/api/v1/services/:service/graph', declarer, async (ctx) => {
    const { slug, actor } = ownService(ctx);
    if (!(await removeGraphSource(deps.db, slug, actor))) throw notFound(`${slug} has declared no field of /graphql.`);
    deps.graphs.forget();
    ctx.status = 204;
  });
  return router;
}
