import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import { WebSocketServer } from 'ws';
import type { CallerDeps } from '../http/callers.ts';
import { InvalidToken } from '../../oidc/hub-token.ts';
import { AppError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { StreamEntry } from '../../events/bus.ts';
import type { EventSystem } from '../../events/event-system.ts';
import { viewerFor } from './live-access.ts';
import type { LiveAccess, Viewer } from '../../events/live-connection.ts';
import { localeOf } from '../http/locale.ts';
import { notificationHtml, ServiceNames } from './notifications.ts';
import { sseTransport } from './sse-transport.ts';
import { parseStreamId } from '../../events/stream-ids.ts';
import { websocketTransport } from './websocket-transport.ts';
import { pollTransport } from './poll-transport.ts';

export const livePath = '/hub/events';

export interface LiveDeps extends CallerDeps {
  events: EventSystem;
  logger: Logger;
  /** TRUST_PROXY: a WebSocket's address is the last X-Forwarded-For entry, as Koa's ctx.ip for SSE. */
  trustProxy?: boolean;
  /** A stream opened with a device's token is that device's use: its "last seen" (src/devices/device-sightings.ts). */
  sightings?: { seen(userId: string, grantRef: string): Promise<void> };
  /** CORS per client (src/web/api/hub-cors.ts): another origin only with a token of a client registered there. */
  cors?: {
    allow(ctx: Context, clientId: string | null): Promise<void>;
    permits(origin: string, clientId: string | null): Promise<boolean>;
  };
  /** Other paths that upgrade on this server (graphql-ws at /graphql), each with its handler. */
  upgrades?: Record<string, (req: IncomingMessage, socket: Duplex, head: Buffer) => void>;
  /** Runs an upgrade as a unit of work of its own (data residency: the region of whoever it turns out to be; src/db/regions.ts). */
  unitOfWork?: (work: () => void) => void;
}

/** The address a WebSocket upgrade comes from, by the same rule as Koa's ctx.ip (maxIpsCount 1). */
function addressOf(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  const last = trustProxy && typeof forwarded === 'string' ? forwarded.split(',').at(-1)?.trim() : undefined;
  return last || req.socket.remoteAddress || 'unknown';
}

const truthy = (value: unknown) => value === 'true' || value === '1';

/** ?ticket=… (POST /hub/events/ticket), or null. */
function ticketOf(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new AppError('invalid_input', 'Send one ticket.');
  return value;
}

/** The longest a poll waits for an event; clients ask for less with ?wait=. */
export const maxPollWaitSeconds = 25;

function waitOf(value: unknown): number {
  if (value === undefined) return maxPollWaitSeconds;
  if (typeof value !== 'string' || !/^\d{1,3}$/.test(value) || Number(value) > maxPollWaitSeconds) {
    throw new AppError('invalid_input', `wait is a whole number of seconds from 0 to ${maxPollWaitSeconds}.`);
  }
  return Number(value);
}

function sinceOf(value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || !parseStreamId(value)) throw new AppError('invalid_input', 'since / Last-Event-ID must be a stream id such as 1714000000000-0.');
  return value.trim();
}

/**
 * Who asks for the stream or a poll (a token, a ticket or the portal's session), from an origin
 * its client registered; the use moves its device's "last seen". A bad token is a 401 with its
 * challenge.
 */
async function liveCaller(deps: LiveDeps, ctx: Context): Promise<{ viewer: Viewer; access: LiveAccess | null }> {
  let found: Awaited<ReturnType<typeof viewerFor>>;
  try {
    found = await viewerFor(deps, ctx.req, ctx.res, truthy(ctx.query.all), ticketOf(ctx.query.ticket));
  } catch (error) {
    if (error instanceof InvalidToken) ctx.set('WWW-Authenticate', error.challenge);
    throw error;
  }
  await deps.cors?.allow(ctx, found.clientId);
  if (found.grantRef) await deps.sightings?.seen(found.viewer.userId, found.grantRef);
  return { viewer: found.viewer, access: found.access };
}

/**
 * GET /hub/events as Server-Sent Events: JSON envelopes, or toasts for the portal's notification
 * area when htmx asks (HX-Request) or ?format=html.
 */
export function liveRoutes(deps: LiveDeps): Router {
  const router = new Router();
  const names = new ServiceNames(deps.db);
  router.get(livePath, async (ctx) => {
    const { viewer, access } = await liveCaller(deps, ctx);
    const since = sinceOf(ctx.get('Last-Event-ID') || ctx.query.since);
    // HEAD (the router serves it with GET) gets the stream's headers and its end: a stream that can
    // carry no body would otherwise stay open, and the client waits for an answer for good.
    if (ctx.method === 'HEAD') {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'text/event-stream; charset=utf-8';
      ctx.status = 200;
      return;
    }
    const html = ctx.query.format === 'html' || ctx.get('HX-Request') === 'true';
    if (html) await names.refresh();
    // Nothing awaited from here to connect(): the place taken is the connection's.
    const release = deps.events.live.reserve(viewer.userId, ctx.ip);
    const { req, res } = ctx;
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    req.socket.setKeepAlive(true);
    ctx.respond = false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.write('retry: 3000\n\n');
    const locale = localeOf(ctx);
    const render = html ? (entry: StreamEntry) => notificationHtml(entry.event, names.lookup, locale) : undefined;
    const connection = deps.events.live.connect(viewer, sseTransport(res, deps.events.metrics, render), since, access, release);
    res.on('close', () => connection.close('gone'));
  });

  /**
   * Long-poll for clients that cannot hold a stream open (watches, IoT screens): the person's
   * events after `since` at once, or the first ones within `wait` seconds, or none; `next` is the
   * `since` of the next poll. The same viewers, resume bounds and privacy as the stream.
   */
  router.get(`${livePath}/poll`, async (ctx) => {
    const { viewer, access } = await liveCaller(deps, ctx);
    const since = sinceOf(ctx.get('Last-Event-ID') || ctx.query.since);
    const waitMs = waitOf(ctx.query.wait) * 1000;
    ctx.set('Cache-Control', 'no-store');
    const release = deps.events.live.reserve(viewer.userId, ctx.ip);
    const poll = pollTransport(waitMs);
    const connection = deps.events.live.connect(viewer, poll.transport, since, access, release);
    ctx.res.on('close', () => connection.close('gone'));
    const outcome = await poll.outcome;
    connection.close('gone');
    if (outcome.ended === 'revoked') {
      const ended = new InvalidToken('The token or sign-in this poll was made with has ended.');
      ctx.set('WWW-Authenticate', ended.challenge);
      throw ended;
    }
    ctx.body = {
      events: outcome.entries.map((entry) => ({ stream_id: entry.streamId, event: entry.event })),
      next: outcome.next,
      resync: outcome.resync,
    };
  });
  return router;
}

function refuse(socket: Duplex, status: number, title: string, detail: string, challenge?: string, retryAfter?: number): void {
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  const reason = ({ 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests' } as Record<number, string>)[status] ?? 'Internal Server Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n` +
      `${challenge ? `WWW-Authenticate: ${challenge}\r\n` : ''}${retryAfter ? `Retry-After: ${retryAfter}\r\n` : ''}\r\n${body}`,
  );
}

/** How long WebSocket clients get to answer the close frame when the hub stops. */
const closeGraceMs = 1000;

/**
 * WebSocket at /hub/events on the hub's own HTTP server (`noServer` upgrade). The same viewers
 * as SSE; `?since=<stream id>` replays what was missed. A browser's cookie counts only from our
 * own origin (no cross-site WebSocket hijacking).
 */
/** Returns the detach: it stops upgrades at once, and resolves once every client has closed (or been cut). */
export function attachLiveWebSocket(server: Server, deps: LiveDeps): () => Promise<void> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const issuerOrigin = new URL(deps.issuer).origin;

  // The only 'upgrade' listener: Node hands it every request that asks to upgrade, and one left
  // unanswered keeps its socket open for good. /hub/events upgrades here, the paths of
  // `deps.upgrades` by their own handlers; anything else is told so and closed. The path is cut from the raw URL: `new URL` throws on some (`//`), and a throw here
  // would end the process.
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '/').split('?', 1)[0];
    const other = path !== undefined && path !== livePath && Object.hasOwn(deps.upgrades ?? {}, path) ? deps.upgrades![path] : undefined;
    if (other) return other(req, socket, head);
    if (path !== livePath) return refuse(socket, 404, 'not_found', 'There is nothing to upgrade to at this address.');
    const url = new URL(req.url ?? '/', issuerOrigin);
    void (async () => {
      let viewer: Viewer;
      let access: LiveAccess | null;
      let since: string | null;
      let release: () => void;
      try {
        const found = await viewerFor(deps, req, new ServerResponse(req), truthy(url.searchParams.get('all')), url.searchParams.get('ticket'));
        if (found.via === 'session' && req.headers.origin && req.headers.origin !== issuerOrigin) {
          return refuse(socket, 403, 'forbidden', 'A WebSocket signed in by cookie must come from the hub\'s own pages.');
        }
        const origin = req.headers.origin;
        if (origin && deps.cors && !(await deps.cors.permits(origin, found.clientId))) {
          return refuse(socket, 403, 'forbidden', `The origin ${origin} is not registered for client ${found.clientId}.`);
        }
        viewer = found.viewer;
        access = found.access;
        if (found.grantRef) await deps.sightings?.seen(viewer.userId, found.grantRef);
        since = sinceOf(url.searchParams.get('since'));
        release = deps.events.live.reserve(viewer.userId, addressOf(req, deps.trustProxy ?? false));
      } catch (error) {
        if (error instanceof AppError) return refuse(socket, error.status, error.code, error.message, error instanceof InvalidToken ? error.challenge : undefined, error.retryAfter);
        deps.logger.error({ err: error }, 'WebSocket upgrade failed');
        return refuse(socket, 500, 'internal', 'Something went wrong on our side.');
      }
      // A client gone before the handshake ends never reaches connect(): its place goes back here.
      socket.once('close', release);
      wss.handleUpgrade(req, socket, head, (ws) => {
        const connection = deps.events.live.connect(viewer, websocketTransport(ws, deps.events.metrics), since, access, release);
        ws.on('close', () => connection.close('gone'));
        ws.on('error', () => connection.close('gone'));
      });
    })();
  };
  const unitOfWork = deps.unitOfWork;
  const listener = unitOfWork ? (req: IncomingMessage, socket: Duplex, head: Buffer) => unitOfWork(() => onUpgrade(req, socket, head)) : onUpgrade;
  server.on('upgrade', listener);
  return async () => {
    server.off('upgrade', listener);
    // The live hub's stop tells each client to reconnect and starts the closing handshake (1012);
    // a client that does not finish it within the grace is cut.
    const open = [...wss.clients].filter((client) => client.readyState !== client.CLOSED);
    let timer: NodeJS.Timeout | undefined;
    const closed = Promise.all(open.map((client) => new Promise((resolve) => client.once('close', resolve))));
    await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, closeGraceMs)))]);
    clearTimeout(timer);
    for (const client of wss.clients) client.terminate();
    wss.close();
  };
}
