import { HubError, responseBody } from './errors.ts';
import { readSse } from './sse.ts';
import type { HubEvent } from './webhooks.ts';

export interface FollowEventsOptions {
  issuer: string;
  /** A person's token for the hub (resource `<ISSUER>/hub`, scope `hub`), or a function giving the current one (asked again at each reconnect). */
  accessToken: string | (() => string | Promise<string>);
  /** Resume after this stream id (the last one you handled); absent: from now on. */
  since?: string;
  /** Each event, in order. The position moves past it only once this resolves. */
  onEvent: (event: HubEvent, streamId: string) => void | Promise<void>;
  /** The stream is open at this position (also after each reconnect). */
  onReady?: (streamId: string) => void | Promise<void>;
  /** The position given is older than the hub keeps: reload your state from the REST API. */
  onResync?: (reason: string) => void | Promise<void>;
  /** The connection was lost and is tried again after `delayMs`. */
  onReconnect?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Stops following: followEvents then resolves. */
  signal?: AbortSignal;
  /** Reconnect delays: doubling from `initialMs` (500) up to `maxMs` (30 000), with jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** A connection silent this long is taken for dead and replaced (default 45 000: the hub sends a keep-alive every 15 s). */
  idleTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** The hub ended the stream because its token or sign-in ended: sign in again, do not retry. */
export class StreamRevokedError extends Error {
  constructor() {
    super('The hub ended the event stream: the token or sign-in it was opened with has ended.');
    this.name = 'StreamRevokedError';
  }
}

/** A connection that ended by itself (hub restart, network): worth reconnecting. */
class StreamEnded extends Error {}

/** Carries an error thrown by one of the caller's callbacks out of the reconnect loop, unchanged. */
class CallbackFailed {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

async function callback(run: () => void | Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    throw new CallbackFailed(error);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Refusals a reconnect cannot mend (bad or revoked token, bad request, forbidden). */
const fatal = (status: number) => status === 400 || status === 401 || status === 403 || status === 404;

/**
 * Follows the person's live events at `/hub/events` (Server-Sent Events). Reconnects after a lost
 * connection or a hub restart with `Last-Event-ID` = the last stream id handled (so nothing is
 * missed or repeated within what the hub keeps), waiting with exponential backoff (and the hub's
 * `retry:` / `Retry-After`). Resolves with the last stream id when `signal` aborts; rejects with
 * HubError on a refusal (401, 403, 400) and StreamRevokedError when the hub ends the stream for a
 * revoked token. An error thrown by a callback ends it too, unchanged.
 */
export async function followEvents(options: FollowEventsOptions): Promise<string | undefined> {
  const fetchImpl = options.fetch ?? fetch;
  const url = `${options.issuer.replace(/\/$/, '')}/hub/events`;
  const initialMs = options.backoff?.initialMs ?? 500;
  const maxMs = options.backoff?.maxMs ?? 30_000;
  const { signal } = options;
  let position = options.since;
  let attempt = 0;
  let hintMs = 0;
  const idleMs = options.idleTimeoutMs ?? 45_000;

  while (!signal?.aborted) {
    // One controller per connection: aborted by the caller's signal, or by the idle watchdog when
    // the connection went silent (a peer gone without closing it never ends the read otherwise).
    const connection = new AbortController();
    const stopConnection = () => connection.abort();
    signal?.addEventListener('abort', stopConnection, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const alive = () => {
      clearTimeout(idle);
      idle = setTimeout(() => connection.abort(new StreamEnded(`Nothing from the hub for ${idleMs} ms.`)), idleMs);
    };
    try {
      alive();
      const token = typeof options.accessToken === 'string' ? options.accessToken : await options.accessToken();
      const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${token}` };
      if (position) headers['last-event-id'] = position;
      const response = await fetchImpl(url, { headers, signal: connection.signal });
      if (response.status !== 200 || !response.body) {
        const body = await responseBody(response);
        const error = new HubError(response.status, body, 'Following events');
        if (fatal(response.status)) throw error;
        hintMs = Number(response.headers.get('retry-after') ?? 0) * 1000;
        throw new StreamEnded(error.message);
      }
      for await (const message of readSse(response.body, alive)) {
        if (message.retry !== undefined) hintMs = message.retry;
        switch (message.event) {
          case 'ready':
            attempt = 0;
            if (message.id) position = message.id;
            await callback(() => options.onReady?.(message.id ?? ''));
            break;
          case 'resync': {
            const reason = message.data ? ((JSON.parse(message.data) as { reason?: string }).reason ?? '') : '';
            await callback(() => options.onResync?.(reason));
            if (message.id) position = message.id;
            break;
          }
          case 'revoked':
            throw new StreamRevokedError();
          case 'reconnect':
            hintMs = (JSON.parse(message.data || '{}') as { retry_ms?: number }).retry_ms ?? hintMs;
            break;
          default: {
            if (!message.data) break;
            const event = JSON.parse(message.data) as HubEvent;
            await callback(() => options.onEvent(event, message.id ?? ''));
            if (message.id) position = message.id;
          }
        }
      }
      throw new StreamEnded('The hub closed the stream.');
    } catch (error) {
      clearTimeout(idle);
      signal?.removeEventListener('abort', stopConnection);
      if (error instanceof CallbackFailed) throw error.error;
      if (signal?.aborted) break;
      if (!(error instanceof StreamEnded) && (error instanceof HubError || error instanceof StreamRevokedError || error instanceof SyntaxError)) throw error;
      attempt++;
      const backoff = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 16));
      const delayMs = Math.max(hintMs, Math.round(backoff * (0.8 + Math.random() * 0.4)));
      hintMs = 0;
      options.onReconnect?.({ attempt, delayMs, error });
      await sleep(delayMs, signal);
    }
  }
  return position;
}
