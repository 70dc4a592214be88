import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, SpanStatusCode, context, propagation, trace, type Context, type Span, type SpanOptions } from '@opentelemetry/api';

/**
 * What the hub's own code uses to make spans. Every helper here first asks `tracingActive()`: with
 * tracing off (no OTLP endpoint) no SDK is loaded and they do nothing, not even the API's no-op
 * work, so the token endpoints pay nothing for them.
 */
let active = false;

/** True while the OpenTelemetry SDK runs (src/platform/tracing.ts turns it on and off). */
export const tracingActive = (): boolean => active;

export function setTracingActive(on: boolean): void {
  active = on;
}

/**
 * The hub's tracer. Asked for at each use, not kept: the SDK may be stopped and started again in
 * one process (tests), and a tracer taken from the first one would keep exporting to nowhere.
 */
export const hubTracer = () => trace.getTracer('uniqverse');

const noSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The active span's ids, for every log line (src/platform/logger.ts). */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  if (!active) return {};
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** True when a span is active: statements and Redis commands are traced only inside a request or a job, never on their own. */
export const insideSpan = (): boolean => active && trace.getActiveSpan() !== undefined;

export function recordFailure(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * Runs `work` inside a new span, ended when it settles (an error is recorded and thrown on).
 * `root`: the span starts a trace of its own, for work picked up long after whatever queued it.
 */
export async function inSpan<T>(name: string, options: SpanOptions & { root?: boolean }, work: (span: Span) => Promise<T>): Promise<T> {
  if (!active) return work(noSpan);
  const { root, ...spanOptions } = options;
  const parent = root ? ROOT_CONTEXT : context.active();
  const span = hubTracer().startSpan(name, spanOptions, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** `headers` with the active span's W3C `traceparent` (and `tracestate`) added, for a request the hub sends. */
export function withTraceHeaders(headers: Record<string, string>, from: Context = context.active()): Record<string, string> {
  if (active) propagation.inject(from, headers);
  return headers;
}

/** Names the active span, a request's server span, after the path it answered (a route without parameters), when tracing is on. */
export function nameActiveServerSpan(method: string | undefined, route: string): void {
  const span = active ? trace.getActiveSpan() : undefined;
  if (span && method) nameServerSpan(span, method, route);
}

/** Names a request's server span after its route template (`GET /interaction/:uid`), once a router has matched one. */
export function nameServerSpan(span: Span, method: string, route: string): void {
  span.updateName(`${method} ${route}`);
  span.setAttribute('http.route', route);
}
