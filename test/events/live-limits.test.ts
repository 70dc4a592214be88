import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import type { Knex } from 'knex';
import { Registry } from 'prom-client';
import { LiveHub } from '../../src/events/live-hub.ts';
import { MemoryBus } from '../../src/events/memory-bus.ts';
import { createEventMetrics } from '../../src/events/metrics.ts';
import { sseTransport } from '../../src/web/live/sse-transport.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { eventually } from './helpers.ts';

/** A real bus, fan-out and SSE transport on a plain HTTP server, with limits small enough to reach. */
async function liveServer(t: ExecutionContext, limits: { maxQueuedEvents: number; highWaterBytes: number }, heartbeatMs = 15_000) {
  const bus = new MemoryBus(10_000);
  const registry = new Registry();
  // The lag gauges read the database only when scraped; this test never scrapes them.
  const metrics = createEventMetrics(registry, null as unknown as Knex);
  const live = new LiveHub({ bus, logger: createLogger('silent'), metrics, limits, heartbeatMs });
  await live.start();
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const connection = live.connect({ userId: 'u1', all: false }, sseTransport(res, metrics), null);
    res.on('close', () => connection.close('gone'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    await live.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { bus, live, registry, port: (server.address() as AddressInfo).port };
}

const event = (n: number, size: number) => ({ id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, type: 'test.big', occurred_at: new Date().toISOString(), user_id: 'u1', data: { n, pad: 'x'.repeat(size) } });

test('a client that stops reading is dropped instead of growing the server\'s memory', async (t) => {
  const { bus, live, registry, port } = await liveServer(t, { maxQueuedEvents: 50, highWaterBytes: 64 * 1024 });
  const socket = net.connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`GET / HTTP/1.1\r\nHost: x\r\n\r\n`);
  await eventually(() => live.connectionCount === 1, 5000, 'connected');
  socket.pause(); // the client reads nothing from now on
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('end', () => (closed = true));

  // Far more than the kernel buffers, the high-water mark and the queue together.
  for (let n = 0; n < 400 && live.connectionCount; n++) await bus.publish([event(n, 64 * 1024)]);
  await eventually(() => live.connectionCount === 0, 10_000, 'the slow client dropped');
  const dropped = await registry.getSingleMetricAsString('uniqverse_live_dropped_total');
  t.regex(dropped, /uniqverse_live_dropped_total\{transport="sse"\} 1/);
  socket.resume();
  await eventually(() => closed, 10_000, 'the socket closed');
});

test('heartbeats keep an idle stream alive', async (t) => {
  const { port } = await liveServer(t, { maxQueuedEvents: 50, highWaterBytes: 64 * 1024 }, 50);
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const response = await fetch(`http://127.0.0.1:${port}/`, { signal: controller.signal });
  const reader = response.body!.getReader();
  let text = '';
  await eventually(async () => {
    const { value } = await reader.read();
    text += new TextDecoder().decode(value);
    return (text.match(/: keep-alive/g) ?? []).length >= 2;
  }, 5000, 'two heartbeats');
  t.regex(text, /event: ready/);
});
