import type http from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { securityHeaderList } from './security-headers.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** How long a connection left at the end of a drain has to flush what it was sent before it is cut. */
const flushMs = 500;

/** Seconds a client is told to wait while the hub starts or stops. */
export const unavailableRetryAfter = 5;

export interface Availability {
  /** From now on requests go to `handler`. */
  ready(handler: Handler): void;
  /** From now on new requests get 503 and their connection is closed: the hub is stopping. */
  closing(): void;
  /**
   * Stops accepting, lets requests in flight finish for up to `graceMs`, then closes every
   * connection still open (a half-sent request, a socket an upgrade left behind). Resolves when
   * the server is closed.
   */
  drain(graceMs: number): Promise<void>;
}

/**
 * The hub listens before it can serve (with port 0 the issuer comes from the port it got). Node
 * accepts a connection as soon as the server listens, and a request with no 'request' listener is
 * never answered: it hung until the client gave up. This is the one 'request' listener, set at
 * listen: until the hub is ready it answers 503 with Retry-After (and /healthz 200 "starting", so a
 * liveness probe does not kill a hub that is migrating; /readyz is 503 until ready), and again once
 * it is closing.
 */
/**
 * A body left half read once the answer is sent (a parser that gave up on a malformed multipart
 * body, an answer given before the body was wanted) is read to its end and dropped. Node drains
 * such a body itself only if nobody began reading it; one that a parser began and left paused
 * would hold the keep-alive connection, and the client's next request on it would never be
 * answered.
 */
function drainUnread(req: http.IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  req.removeAllListeners('data');
  req.unpipe();
  req.resume();
}

export function serveWhenReady(server: http.Server, { production }: { production: boolean }): Availability {
  const headers = securityHeaderList(production);
  const sockets = new Set<Socket>();
  let handler: Handler | null = null;
  let state: 'starting' | 'ready' | 'closing' = 'starting';

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (state === 'ready' && handler) {
      res.once('finish', () => drainUnread(req));
      return handler(req, res);
    }
    const path = (req.url ?? '/').split('?', 1)[0];
    const live = state === 'starting' && path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD');
    const status = live ? 200 : 503;
    const body = JSON.stringify(
      live
        ? { status: 'starting' }
        : { type: 'about:blank', title: 'unavailable', status, detail: state === 'starting' ? 'UniQVerse is starting. Try again in a few seconds.' : 'UniQVerse is restarting. Try again in a few seconds.' },
    );
    res.statusCode = status;
    for (const [name, value] of headers) res.setHeader(name, value);
    res.setHeader('X-Request-Id', randomUUID());
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', live ? 'application/json' : 'application/problem+json');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    if (!live) res.setHeader('Retry-After', String(unavailableRetryAfter));
    // Whatever body the request carries is not read: the connection goes, so nothing is left in it.
    if (state === 'closing' || req.headers['content-length'] || req.headers['transfer-encoding']) res.setHeader('Connection', 'close');
    res.end(req.method === 'HEAD' ? undefined : body);
  });

  return {
    ready(next) {
      handler = next;
      if (state === 'starting') state = 'ready';
    },
    closing() {
      state = 'closing';
    },
    async drain(graceMs) {
      state = 'closing';
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection whose last request finishes during the grace goes as soon as it is idle.
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      clearInterval(idle);
      // What is left gets a moment to flush what it was last sent (an answer that has just finished
      // is still in the socket's buffer: destroying it at once lost it), then is cut.
      if (sockets.size) {
        let settle: () => void = () => undefined;
        const gone = new Promise<void>((resolve) => (settle = resolve));
        for (const socket of sockets) socket.once('close', () => sockets.size || settle()).end();
        await Promise.race([gone, new Promise<void>((resolve) => (timer = setTimeout(resolve, flushMs)))]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
