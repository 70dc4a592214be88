import type { Context, Next } from 'koa';
import type { Knex } from 'knex';
import { clientOrigins, everyClientOrigin } from '../../catalog/client-origins.ts';
import { TtlCache } from '../../platform/cache.ts';
import { AppError } from '../../platform/errors.ts';

const allowedHeaders = 'Authorization, Content-Type, DPoP, Last-Event-ID';
const exposedHeaders = 'Location, RateLimit, RateLimit-Policy, Retry-After, WWW-Authenticate';

export interface HubCors {
  /** Before the routers: answers preflights for /hub/*, and notes a request from another origin. */
  middleware(ctx: Context, next: Next): Promise<void>;
  /** Once the caller is known: a request from another origin goes on only from its token's client's origins. */
  allow(ctx: Context, clientId: string | null): Promise<void>;
  /** Whether a client registered this origin (a WebSocket's, which CORS does not cover). */
  permits(origin: string, clientId: string | null): Promise<boolean>;
}

/**
 * CORS for the hub's API (/hub/* and /graphql), per client: a browser page or extension may call it only from
 * an origin its client registered (src/catalog/client-origins.ts), with that client's token. The
 * portal's cookie is never accepted from another origin (no Allow-Credentials). A preflight has no
 * token yet: it is answered for an origin some client registered, and the request that follows
 * is checked against its own token's client. Clients change rarely: their origins are read again
 * after 30 s.
 */
export function hubCors(db: Knex, issuer: string): HubCors {
  const ownOrigin = new URL(issuer).origin;
  const everyOrigin = new TtlCache<'all', Set<string>>(30_000, 1);
  const perClient = new TtlCache<string, string[]>(30_000);
  const known = async (origin: string) => (await everyOrigin.get('all', () => everyClientOrigin(db)))!.has(origin);
  const permits = async (origin: string, clientId: string | null) => origin === ownOrigin || (clientId !== null && ((await perClient.get(clientId, () => clientOrigins(db, clientId))) ?? []).includes(origin));
  return {
    permits,
    async middleware(ctx, next) {
      const origin = ctx.get('Origin');
      if (!(ctx.path.startsWith('/hub/') || ctx.path === '/graphql') || !origin || origin === ownOrigin) return next();
      ctx.vary('Origin');
      if (ctx.method === 'OPTIONS') {
        if (!(await known(origin))) throw new AppError('forbidden', `No client is registered at the origin ${origin}.`);
        ctx.set('Access-Control-Allow-Origin', origin);
        ctx.set('Access-Control-Allow-Methods', 'GET, POST, DELETE');
        ctx.set('Access-Control-Allow-Headers', allowedHeaders);
        ctx.set('Access-Control-Max-Age', '600');
        ctx.status = 204;
        return;
      }
      ctx.state.crossOrigin = origin;
      try {
        await next();
      } catch (error) {
        // A page of a registered origin may read why it was refused (a 401 tells it to refresh).
        if (!ctx.response.get('Access-Control-Allow-Origin') && (await known(origin).catch(() => false))) {
          ctx.set('Access-Control-Allow-Origin', origin);
          ctx.set('Access-Control-Expose-Headers', exposedHeaders);
        }
        throw error;
      }
    },
    async allow(ctx, clientId) {
      const origin = ctx.state.crossOrigin as string | undefined;
      if (!origin) return;
      if (!(await permits(origin, clientId))) {
        throw new AppError('forbidden', clientId ? `The origin ${origin} is not registered for client ${clientId}.` : `The portal's sign-in is not accepted from ${origin}: send an access token of a client registered there.`);
      }
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Expose-Headers', exposedHeaders);
    },
  };
}
