import type { ServerResponse } from 'node:http';
import type { EventMetrics } from '../../events/metrics.ts';
import type { Frame, LiveTransport } from '../../events/live-connection.ts';
import type { StreamEntry } from '../../events/bus.ts';
import { sseFrame, sseHtmlFrame, sseReconnectHint } from './live-frames.ts';

/** Resolves on the first of the events named, and removes its listeners. */
function once(emitter: NodeJS.EventEmitter, events: string[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of events) emitter.off(event, done);
      resolve();
    };
    for (const event of events) emitter.on(event, done);
  });
}

/** `html`: toasts for the portal's notification area instead of JSON envelopes. */
export function sseTransport(res: ServerResponse, metrics: EventMetrics, html?: (entry: StreamEntry) => string | null): LiveTransport {
  const serialise = html ? (frame: Frame) => sseHtmlFrame(frame, html) : sseFrame;
  return {
    name: 'sse',
    send(frame: Frame) {
      if (res.destroyed) return;
      res.write(serialise(frame));
      if (frame.kind === 'event') metrics.liveSent.inc();
    },
    buffered: () => res.writableLength,
    writable: () => (res.destroyed ? Promise.resolve() : once(res, ['drain', 'close'])),
    heartbeat() {
      if (!res.destroyed) res.write(': keep-alive\n\n');
    },
    close(reason) {
      if (reason === 'slow') metrics.liveDropped.inc({ transport: 'sse' });
      // A slow client cannot take what is buffered: cut it. Otherwise end the response cleanly.
      if (reason === 'slow' || reason === 'gone') res.destroy();
      // Said before the end, so a client knows its credential ended and signs in again instead of retrying.
      else if (reason === 'revoked') res.end(res.destroyed ? undefined : sseFrame({ kind: 'revoked' }));
      // The hub is stopping: come back shortly, from the last id, to whichever instance answers.
      else res.end(res.destroyed ? undefined : sseReconnectHint);
    },
  };
}
