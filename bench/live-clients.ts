/**
 * The SSE clients of bench/live-fanout.ts, in a process of their own (pinned to a core of its own
 * where the machine has two). Opens one connection per token it is sent, and for every event whose
 * data has a "tick" records when it arrived (wall clock, ms), per tick.
 */
import http from 'node:http';
import type { ClientRequest } from 'node:http';

type Message = { kind: 'open'; url: string; tokens: string[] } | { kind: 'report' } | { kind: 'close' };

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const now = () => performance.timeOrigin + performance.now();
let received: Record<number, number[]> = {};
const open = new Set<ClientRequest>();
const send = (message: unknown) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

function connect(url: string, token: string, failures: Record<string, number>): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(`${url}/hub/events`, { agent, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (response) => {
      if (response.statusCode !== 200) {
        failures[`HTTP ${response.statusCode}`] = (failures[`HTTP ${response.statusCode}`] ?? 0) + 1;
        response.resume();
        return resolve(false);
      }
      response.setEncoding('utf8');
      let buffer = '';
      let ready = false;
      response.on('data', (chunk: string) => {
        const at = now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!ready && block.includes('event: ready')) {
            ready = true;
            resolve(true);
          }
          const tick = /"tick":(\d+)/.exec(block);
          if (tick) (received[Number(tick[1])] ??= []).push(at);
        }
      });
      response.on('error', () => undefined);
    });
    open.add(request);
    request.on('close', () => open.delete(request));
    request.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? error.message;
      failures[code] = (failures[code] ?? 0) + 1;
      resolve(false);
    });
  });
}

process.on('message', (message: Message) => {
  void (async () => {
    if (message.kind === 'open') {
      const failures: Record<string, number> = {};
      let ready = 0;
      for (let i = 0; i < message.tokens.length; i += 200) {
        const results = await Promise.all(message.tokens.slice(i, i + 200).map((token) => connect(message.url, token, failures)));
        ready += results.filter(Boolean).length;
      }
      await send({ kind: 'opened', ready, failures });
    } else if (message.kind === 'report') {
      const report = received;
      received = {};
      await send({ kind: 'report', received: report });
    } else {
      for (const request of open) request.destroy();
      open.clear();
      await send({ kind: 'closed' });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
