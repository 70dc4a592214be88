import type { ServerResponse } from 'node:http';
import type { EventMetrics } from '../../events/metrics.ts';
import type { Frame, LiveTransport } from '../../events/live-connection.ts';
import type { StreamEntry } from '../../events/bus.ts';
import { sseFrame, sseFrameBytes, sseHtmlFrame, sseReconnectHint } from './live-frames.ts';

/** Resolves on the first of the events named on any of the emitters, and removes its listeners. */
function once(emitters: NodeJS.EventEmitter[], events: string[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const emitter of emitters) for (const event of events) emitter.off(event, done);
      resolve();
    };
    for (const emitter of emitters) for (const event of events) emitter.on(event, done);
  });
}

const crlf = Buffer.from('\r\n');
const keepAlive = Buffer.from(': keep-alive\n\n');
/** Each Buffer framed as one HTTP chunk, once: an event's frame is shared by all its connections, and so is its chunk. */
const chunks = new WeakMap<Buffer, Buffer>();

function chunkOf(data: Buffer): Buffer {
  let chunk = chunks.get(data);
  if (chunk === undefined) chunks.set(data, (chunk = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, crlf])));
  return chunk;
}

/**
 * `html`: toasts for the portal's notification area instead of JSON envelopes.
 *
 * Frames are written to the socket itself, one Buffer each (the HTTP chunk already framed, made
 * once per event for every connection): through the ServerResponse every write costs a cork, a
 * deferred uncork and four buffers, and a broadcast to 10,000 connections spent most of its time
 * there. The response's head and first lines went out through it before (flushed here, if the caller
 * has not written yet), and its end goes through it after, in order on the same socket. Should the response hold
 * anything unsent (its socket still busy with an earlier response), frames go through it too.
 */
export function sseTransport(res: ServerResponse, metrics: EventMetrics, html?: (entry: StreamEntry) => string | null): LiveTransport {
  const serialise = html ? (frame: Frame) => Buffer.from(sseHtmlFrame(frame, html)) : sseFrameBytes;
  // The head must be on the socket before any frame written past the response (writeHead only stores it).
  if (!res.destroyed) res.flushHeaders();
  const write = (data: Buffer) => {
    const socket = res.socket;
    if (res.destroyed || !socket || socket.destroyed) return;
    if (res.writableLength !== socket.writableLength) res.write(data);
    else socket.write(res.chunkedEncoding ? chunkOf(data) : data);
  };
  return {
    name: 'sse',
    send(frame: Frame) {
      write(serialise(frame));
      if (frame.kind === 'event') metrics.liveSent.inc();
    },
    buffered: () => res.writableLength,
    writable: () => (res.destroyed || !res.socket ? Promise.resolve() : once([res, res.socket], ['drain', 'close'])),
    heartbeat() {
      write(keepAlive);
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
