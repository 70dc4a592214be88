/**
 * The SSE clients of bench/events-latency.ts, in a process of their own (10,000 connections need
 * 20,000 descriptors on one side otherwise). Opens N connections, reports when all are ready,
 * and for every "bench.tick" event records when each connection received it (wall clock, µs).
 */
import http from 'node:http';

const [url, token, countText] = process.argv.slice(2);
const count = Number(countText);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const now = () => performance.timeOrigin + performance.now();
/** received[n] = arrival times of tick n across connections. */
const received: number[][] = [];
let ready = 0;
let failed = 0;

function open(): Promise<void> {
  return new Promise((resolve) => {
    const request = http.get(`${url}/hub/events`, { agent, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (response) => {
      if (response.statusCode !== 200) {
        failed++;
        response.resume();
        return resolve();
      }
      response.setEncoding('utf8');
      let buffer = '';
      let counted = false;
      response.on('data', (chunk: string) => {
        const at = now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!counted && block.includes('event: ready')) {
            counted = true;
            ready++;
            resolve();
          }
          const tick = /"tick":(\d+)/.exec(block);
          if (tick) (received[Number(tick[1])] ??= []).push(at);
        }
      });
      response.on('error', () => undefined);
    });
    request.on('error', () => {
      failed++;
      resolve();
    });
  });
}

for (let opened = 0; opened < count; opened += 250) {
  await Promise.all(Array.from({ length: Math.min(250, count - opened) }, open));
}
process.send!({ kind: 'ready', ready, failed });
process.on('message', (message: { kind: string }) => {
  if (message.kind === 'report') {
    process.send!({ kind: 'report', received }, () => process.exit(0));
  }
});
