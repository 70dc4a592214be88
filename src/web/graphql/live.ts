import type { LiveHub } from '../../events/live-hub.ts';
import type { Frame, LiveAccess, LiveTransport, Viewer } from '../../events/live-connection.ts';
import type { HubEvent } from '../../outbox/outbox.ts';

/** One message of the `events` subscription: what a frame of /hub/events says, as GraphQL data. */
export interface LiveMessage {
  /** event, ready, resync, revoked (the token or sign-in ended: sign in again) or reconnect (the hub is stopping). */
  kind: 'event' | 'ready' | 'resync' | 'revoked' | 'reconnect';
  streamId: string | null;
  event: HubEvent | null;
  reason: string | null;
}

function messageOf(frame: Frame): LiveMessage {
  switch (frame.kind) {
    case 'event':
      return { kind: 'event', streamId: frame.entry.streamId, event: frame.entry.event, reason: null };
    case 'ready':
      return { kind: 'ready', streamId: frame.streamId, event: null, reason: null };
    case 'resync':
      return { kind: 'resync', streamId: null, event: null, reason: frame.reason };
    case 'revoked':
      return { kind: 'revoked', streamId: null, event: null, reason: null };
  }
}

export interface LiveRequest {
  viewer: Viewer;
  access: LiveAccess | null;
  since: string | null;
  /** Where the stream comes from (the per-address cap). */
  address: string;
  transport: 'sse' | 'websocket';
}

/**
 * A subscription's messages from the live hub: the same connection as /hub/events (its place
 * under the per-person and per-address caps, its replay from `since`, what the viewer may see,
 * its end when the token or session ends). Ending the iterator closes the connection.
 */
export function liveMessages(live: LiveHub, request: LiveRequest): AsyncIterableIterator<LiveMessage> {
  const queue: Array<{ message: LiveMessage; size: number }> = [];
  let bytes = 0;
  let ended = false;
  let wake: (() => void) | null = null;
  let drained: Array<() => void> = [];
  const flush = () => {
    const waiting = drained;
    drained = [];
    for (const resolve of waiting) resolve();
  };
  const push = (message: LiveMessage) => {
    const size = JSON.stringify(message).length;
    queue.push({ message, size });
    bytes += size;
    wake?.();
  };
  const transport: LiveTransport = {
    name: request.transport,
    send(frame) {
      if (!ended) push(messageOf(frame));
    },
    buffered: () => bytes,
    writable: () => (ended || bytes === 0 ? Promise.resolve() : new Promise<void>((resolve) => drained.push(resolve))),
    heartbeat() {
      // GraphQL over SSE and graphql-ws keep their own connections alive.
    },
    close(reason) {
      if (ended) return;
      // Said last, as /hub/events says it: sign in again, or come back from the last stream id.
      if (reason === 'revoked') push(messageOf({ kind: 'revoked' }));
      else if (reason === 'shutdown') push({ kind: 'reconnect', streamId: null, event: null, reason: null });
      ended = true;
      wake?.();
      flush();
    },
  };
  const release = live.reserve(request.viewer.userId, request.address);
  const connection = live.connect(request.viewer, transport, request.since, request.access, release);
  const done = (): IteratorResult<LiveMessage> => ({ done: true, value: undefined });
  const iterator: AsyncIterableIterator<LiveMessage> = {
    async next() {
      for (;;) {
        const first = queue.shift();
        if (first) {
          bytes -= first.size;
          if (bytes === 0) flush();
          return { done: false, value: first.message };
        }
        if (ended) return done();
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    },
    async return() {
      connection.close('gone');
      queue.length = 0;
      return done();
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
