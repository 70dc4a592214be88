/**
 * The SSE clients of bench/live-fanout.ts, in a process of their own (pinned to a core of its own
 * where the machine has two). Opens one connection per token it is sent, and for every event whose
 * data has a "tick" records when it arrived (wall clock, ms), per tick.
 */
import net from 'node:net';

type Message = { kind: 'open'; url: string; tokens: string[] } | { kind: 'report' } | { kind: 'close' };

const now = () => performance.timeOrigin + performance.now();
let received: Record<number, number[]> = {};
const open = new Set<net.Socket>();
const send = (message: unknown) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

/**
 * One stream over a bare TCP socket: the HTTP client of node:http (its parser, chunked decoding,
 * string decoding) cost this process more per event than the hub spends, and 10,000 of them would
 * measure the clients. The arrival time is taken first; frames are found by their text (a frame
 * split across two reads is joined through a short tail).
 */
function connect(url: string, token: string, failures: Record<string, number>): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.setNoDelay(true);
    let status: 'head' | 'ready' | 'open' = 'head';
    let tail = '';
    socket.on('connect', () => {
      socket.write(`GET /hub/events HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      const at = now();
      const text = tail + chunk.toString('latin1');
      if (status === 'head') {
        if (!text.startsWith('HTTP/1.1 200')) {
          const code = `HTTP ${text.slice(9, 12)}`;
          failures[code] = (failures[code] ?? 0) + 1;
          socket.destroy();
          return resolve(false);
        }
        status = 'open';
      }
      if (status === 'open' && text.includes('ready')) {
        status = 'ready';
        resolve(true);
      }
      for (let from = text.indexOf('"tick":'); from >= 0; from = text.indexOf('"tick":', from + 7)) {
        const tick = /^\d+/.exec(text.slice(from + 7, from + 20));
        if (tick && from + 7 + tick[0].length < text.length) (received[Number(tick[0])] ??= []).push(at);
        else {
          // Cut off: the rest comes with the next read.
          tail = text.slice(from);
          return;
        }
      }
      // Short enough to hold no whole "tick": (7), long enough for the start of one, or of "ready".
      tail = text.slice(-6);
    });
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', (error: NodeJS.ErrnoException) => {
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
