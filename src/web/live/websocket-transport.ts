import type { WebSocket } from 'ws';
import type { EventMetrics } from '../../events/metrics.ts';
import type { Frame, LiveTransport } from '../../events/live-connection.ts';
import { websocketFrame, websocketFrameBytes, websocketReconnectHint } from './live-frames.ts';

export function websocketTransport(socket: WebSocket, metrics: EventMetrics): LiveTransport {
  let waiters: Array<() => void> = [];
  let alive = true;
  const wakeAll = () => {
    const current = waiters;
    waiters = [];
    for (const wake of current) wake();
  };
  socket.on('close', wakeAll);
  socket.on('pong', () => {
    alive = true;
  });
  return {
    name: 'websocket',
    send(frame: Frame) {
      if (socket.readyState !== socket.OPEN) return;
      // The callback runs once the frame is handed to the kernel: that is our "drain". An event's
      // bytes are made once for all its connections, and sent as a text message.
      socket.send(websocketFrameBytes(frame), { binary: false }, wakeAll);
      if (frame.kind === 'event') metrics.liveSent.inc();
    },
    buffered: () => socket.bufferedAmount,
    writable: () =>
      socket.readyState !== socket.OPEN || socket.bufferedAmount === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
    heartbeat() {
      // No pong since the last ping: the peer is gone without a close.
      if (!alive) return void socket.terminate();
      alive = false;
      socket.ping();
    },
    close(reason) {
      if (reason === 'slow') {
        metrics.liveDropped.inc({ transport: 'websocket' });
        socket.terminate();
      } else if (reason === 'gone') socket.terminate();
      // 1008 (policy violation): the token or session that let it in has ended; sign in again.
      else if (reason === 'revoked') {
        if (socket.readyState === socket.OPEN) socket.send(websocketFrame({ kind: 'revoked' }));
        socket.close(1008, 'access ended');
      }
      // 1012 (Service Restart): the hub is stopping; reconnect shortly with ?since=<last stream id>.
      else {
        if (socket.readyState === socket.OPEN) socket.send(websocketReconnectHint);
        socket.close(1012, 'service restart: reconnect');
      }
    },
  };
}
