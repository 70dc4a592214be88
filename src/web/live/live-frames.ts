import type { StreamEntry } from '../../events/bus.ts';
import type { Frame } from '../../events/live-connection.ts';

/** Each event is serialised once, however many connections it goes to. */
const json = new WeakMap<StreamEntry, string>();

function eventJson(entry: StreamEntry): string {
  let text = json.get(entry);
  if (text === undefined) json.set(entry, (text = JSON.stringify(entry.event)));
  return text;
}

const sseBytes = new WeakMap<StreamEntry, Buffer>();
const websocketBytes = new WeakMap<StreamEntry, Buffer>();

/** sseFrame as bytes; an event's are made once and the same Buffer goes to every connection. */
export function sseFrameBytes(frame: Frame): Buffer {
  if (frame.kind !== 'event') return Buffer.from(sseFrame(frame));
  let bytes = sseBytes.get(frame.entry);
  if (bytes === undefined) sseBytes.set(frame.entry, (bytes = Buffer.from(sseFrame(frame))));
  return bytes;
}

/** websocketFrame as bytes (sent as text); an event's are made once for every connection. */
export function websocketFrameBytes(frame: Frame): Buffer {
  if (frame.kind !== 'event') return Buffer.from(websocketFrame(frame));
  let bytes = websocketBytes.get(frame.entry);
  if (bytes === undefined) websocketBytes.set(frame.entry, (bytes = Buffer.from(websocketFrame(frame))));
  return bytes;
}

/**
 * Server-Sent Events: `id` is the stream id (the browser sends it back as Last-Event-ID),
 * `event` the event type, `data` the envelope.
 */
export function sseFrame(frame: Frame): string {
  switch (frame.kind) {
    case 'event':
      return `id: ${frame.entry.streamId}\nevent: ${frame.entry.event.type}\ndata: ${eventJson(frame.entry)}\n\n`;
    case 'ready':
      return `id: ${frame.streamId}\nevent: ready\ndata: ${JSON.stringify({ stream_id: frame.streamId })}\n\n`;
    case 'resync':
      return `event: resync\ndata: ${JSON.stringify({ reason: frame.reason })}\n\n`;
    case 'revoked':
      return `event: revoked\ndata: {"reason":"The token or sign-in this stream was opened with has ended."}\n\n`;
  }
}

/** How long a client waits before it reconnects when the hub stops (to another instance, or this one restarted). */
export const reconnectDelayMs = 1000;

const reconnectReason = 'The hub is restarting: reconnect with your last stream id.';

/**
 * The last message of an SSE stream when the hub stops: `retry:` sets EventSource's reconnect
 * delay, and `event: reconnect` tells other clients to reconnect (with Last-Event-ID) after it.
 */
export const sseReconnectHint = `retry: ${reconnectDelayMs}\nevent: reconnect\ndata: ${JSON.stringify({ reason: reconnectReason, retry_ms: reconnectDelayMs })}\n\n`;

/** The last WebSocket message when the hub stops, before close code 1012 (Service Restart). */
export const websocketReconnectHint = JSON.stringify({ type: 'reconnect', reason: reconnectReason, retry_ms: reconnectDelayMs });

/** WebSocket: one JSON message per frame. */
export function websocketFrame(frame: Frame): string {
  switch (frame.kind) {
    case 'event':
      return `{"type":"event","stream_id":"${frame.entry.streamId}","event":${eventJson(frame.entry)}}`;
    case 'ready':
      return JSON.stringify({ type: 'ready', stream_id: frame.streamId });
    case 'resync':
      return JSON.stringify({ type: 'resync', reason: frame.reason });
    case 'revoked':
      return '{"type":"revoked"}';
  }
}

const html = new WeakMap<StreamEntry, string | null>();

/**
 * For the portal (htmx's SSE extension): events become unnamed messages whose data is a toast
 * fragment, swapped into the notification area; ready and resync stay named (DOM events).
 */
export function sseHtmlFrame(frame: Frame, render: (entry: StreamEntry) => string | null): string {
  if (frame.kind !== 'event') return sseFrame(frame);
  let fragment = html.get(frame.entry);
  if (fragment === undefined) html.set(frame.entry, (fragment = render(frame.entry)));
  // An event with nothing to show still moves the position, so a reconnect does not replay it.
  return fragment === null ? `id: ${frame.entry.streamId}\n\n` : `id: ${frame.entry.streamId}\ndata: ${fragment.replace(/\n/g, ' ')}\n\n`;
}
