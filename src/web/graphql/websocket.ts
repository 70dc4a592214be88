import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { execute, parse, specifiedRules, subscribe, validate, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { AppError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { LiveHub } from '../../events/live-hub.ts';
import type { LiveAccess } from '../../events/live-connection.ts';
import { grantQueries } from '../../queries/oidc-models.ts';
import { personDirectory } from '../../queries/person-directory.ts';
import { bearerCaller, sessionCaller, type Caller, type CallerDeps } from '../http/callers.ts';
import { graphqlBudget, overBudget, type PersonCaller } from './callers.ts';
import type { Limits } from '../../platform/rate-limits.ts';
import type { ServiceRateLimits } from '../../catalog/service-rate-limits.ts';
import { GraphQLError } from 'graphql';
import { codeOf, coded, graphqlCodes } from './errors.ts';
import { withCodes } from './format.ts';
import { validationRules } from './limits.ts';
import { liveMessages } from './live.ts';
import { graphqlContext } from './schema.ts';

export interface GraphqlWebSocketDeps extends CallerDeps {
  limits: Limits;
  serviceRates: ServiceRateLimits;
  logger: Logger;
  production: boolean;
  trustProxy: boolean;
  events: { live: LiveHub };
  liveAccess: (caller: PersonCaller) => LiveAccess | null;
  /** Whether a client registered this origin (src/web/api/hub-cors.ts permits). */
  permits: (origin: string, clientId: string | null) => Promise<boolean>;
  sightings: { seen(userId: string, grantRef: string): Promise<void> };
  /** The schema of the moment: the hub's own and the services' declared fields (service-fields.ts). */
  graphs: { current(): Promise<GraphQLSchema> };
  /**
   * Runs a step of a connection as a unit of work of its own (data residency, src/db/regions.ts):
   * messages on an open socket are not part of its upgrade's request.
   */
  unitOfWork?: <T>(work: () => Promise<T>) => Promise<T>;
}

/** The address a WebSocket comes from, by Koa's rule (maxIpsCount 1). */
function addressOf(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  const last = trustProxy && typeof forwarded === 'string' ? forwarded.split(',').at(-1)?.trim() : undefined;
  return last || req.socket.remoteAddress || 'unknown';
}

type Extra = { caller?: Caller | null };

/**
 * graphql-ws at /graphql (the hub's one upgrade listener hands it the upgrades of this path). The
 * caller: a token in `connectionParams.authorization` ("Bearer …"; a browser cannot send the
 * header) or the upgrade's Authorization header, or the portal's cookie from the hub's own pages;
 * a token's client's registered origins only. A refused connection closes with 4403.
 */
export function graphqlWebSocket(deps: GraphqlWebSocketDeps) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const issuerOrigin = new URL(deps.issuer).origin;
  const codes = withCodes(deps.logger);
  const inUnit = <T>(work: () => Promise<T>): Promise<T> => (deps.unitOfWork ? deps.unitOfWork(work) : work());
  const forCaller = <T>(args: { contextValue?: unknown }, work: () => T | Promise<T>): Promise<T> => {
    const caller = (args.contextValue as { caller?: Caller | null } | undefined)?.caller;
    return caller?.kind === 'person' ? personDirectory.forPerson(deps.db, caller.user.id, async () => work()) : Promise.resolve(work());
  };

  async function callerOf(req: IncomingMessage, params: Record<string, unknown> | undefined): Promise<Caller | null> {
    const sent = typeof params?.authorization === 'string' ? params.authorization : undefined;
    const withToken = sent ? ({ headers: { authorization: sent }, method: 'GET' } as unknown as IncomingMessage) : req;
    const origin = req.headers.origin;
    const bearer = await bearerCaller(deps, withToken, '/graphql');
    if (bearer) {
      if (bearer.kind === 'person') {
        if (!bearer.claims?.scopes.has('hub')) throw new Error('no hub scope');
        const grantRef = bearer.claims.grantRef;
        if (grantRef) {
          if (!(await grantQueries.held(deps.db, bearer.user.id, bearer.claims.client_id, grantRef))) throw new Error('revoked');
          await deps.sightings.seen(bearer.user.id, grantRef);
        }
      }
      if (origin && !(await deps.permits(origin, bearer.clientId))) throw new Error('origin');
      return bearer;
    }
    // No cross-site WebSocket hijacking: the cookie counts only from the hub's own pages.
    if (origin && origin !== issuerOrigin) return null;
    return sessionCaller(deps, req, new ServerResponse(req));
  }

  const server = useServer<Record<string, unknown> | undefined, Extra>(
    {
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        try {
          ctx.extra.caller = await inUnit(() => callerOf(ctx.extra.request, ctx.connectionParams));
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const caller = ctx.extra.caller ?? null;
        const request = ctx.extra.request;
        const origin = { ip: addressOf(request, deps.trustProxy), userAgent: request.headers['user-agent'] ?? null };
        // Each operation counts against the caller's /hub/* budget, as over HTTP.
        const budget = await graphqlBudget(deps, caller, origin.ip);
        if (!budget.allowed) return [new GraphQLError(overBudget(budget).message, { extensions: { code: graphqlCodes.rateLimited, retryAfter: Math.max(1, budget.reset) } })];
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return codes({ errors: [error as never] } as ExecutionResult).errors!;
        }
        let schema: GraphQLSchema;
        try {
          schema = await deps.graphs.current();
        } catch (error) {
          if (error instanceof AppError) return [coded(codeOf(error), error.message)];
          throw error;
        }
        const errors = validate(schema, document, validationRules(specifiedRules, { anonymous: !caller, production: deps.production }));
        if (errors.length) return codes({ errors } as ExecutionResult).errors!;
        const contextValue = graphqlContext(deps.db, caller, origin, (me, since) =>
          liveMessages(deps.events.live, { viewer: { userId: me.user.id, all: false }, access: deps.liveAccess(me), since, address: origin.ip, transport: 'websocket' }),
        );
        return { schema, document, variableValues: payload.variables ?? null, operationName: payload.operationName ?? null, contextValue };
      },
      onNext: (_ctx, _id, _payload, _args, result) => codes(result),
      // Each operation runs in its person's region (data residency); with one database, as it is.
      execute: (args) => forCaller(args, () => execute(args)),
      subscribe: (args) => forCaller(args, () => subscribe(args)),
    },
    wss,
  );

  return {
    /** Takes an upgrade of /graphql. */
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    /** Closes every connection (1001) and the server; a client that does not finish the closing handshake within a second is cut. */
    async close(): Promise<void> {
      const disposed = server.dispose();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([disposed, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
      for (const client of wss.clients) client.terminate();
      await disposed;
    },
  };
}
