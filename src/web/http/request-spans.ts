import type http from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Middleware } from 'koa';
import { hubTracer, nameServerSpan } from '../../platform/spans.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);

/**
 * Every request the hub serves in a server span, wrapped around the whole handler (the provider
 * lane included, which skips Koa): a caller's W3C `traceparent` is continued, the span is named
 * `METHOD` until a router names it after its route (`nameRequestSpan`, the provider's span), and it
 * ends when the response is sent or the connection goes. Installed only when tracing is on. The
 * query string is left out: on /auth and the callbacks it carries codes and state.
 */
export function tracedRequests(handler: Handler): Handler {
  return (req, res) => {
    const method = knownMethods.has(req.method ?? '') ? req.method! : '_OTHER';
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = hubTracer().startSpan(method === '_OTHER' ? 'HTTP' : method, {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': method,
        'url.path': query === -1 ? url : url.slice(0, query),
        'url.scheme': 'http',
        'network.protocol.version': req.httpVersion,
        ...(req.headers.host ? { 'server.address': req.headers.host.replace(/:\d+$/, '') } : {}),
        ...(req.socket.remoteAddress ? { 'client.address': req.socket.remoteAddress } : {}),
        ...(req.headers['user-agent'] ? { 'user_agent.original': req.headers['user-agent'] } : {}),
      },
    }, parent);
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      if (!res.writableFinished) span.setAttribute('error.type', 'response not sent in full');
      span.end();
    });
    context.with(trace.setSpan(parent, span), () => handler(req, res));
  };
}

/** Koa: names the request's server span after the hub route that answered it (`ctx._matchedRoute`, @koa/router's). */
export const nameRequestSpan: Middleware = async (ctx, next) => {
  const span = trace.getActiveSpan();
  try {
    await next();
  } finally {
    const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
    if (span && typeof route === 'string') nameServerSpan(span, ctx.method, route);
  }
};
