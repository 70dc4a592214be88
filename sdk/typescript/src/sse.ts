/** One Server-Sent Events message (the WHATWG event stream format). */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
  /** The `retry:` field, when the message set one. */
  retry: number | undefined;
}

/** Splits an event stream into messages: fields per line, a blank line ends one, `:` lines are comments. */
class SseParser {
  private buffer = '';
  private message: SseMessage = SseParser.empty();
  private hasData = false;
  private hasField = false;

  private static empty(): SseMessage {
    return { id: undefined, event: 'message', data: '', retry: undefined };
  }

  /** Takes more text; returns the messages it completed. */
  push(text: string): SseMessage[] {
    this.buffer += text;
    const done: SseMessage[] = [];
    for (;;) {
      const end = this.buffer.search(/\r\n|\r|\n/);
      // A CR at the very end may be the first half of a CRLF: wait for more.
      if (end < 0 || (end === this.buffer.length - 1 && this.buffer[end] === '\r')) return done;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith('\r\n', end) ? 2 : 1));
      if (line === '') {
        if (this.hasData || this.hasField) done.push(this.message);
        this.message = SseParser.empty();
        this.hasData = this.hasField = false;
      } else if (!line.startsWith(':')) {
        this.field(line);
      }
    }
  }

  private field(line: string): void {
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'data') {
      this.message.data += (this.hasData ? '\n' : '') + value;
      this.hasData = true;
    } else if (name === 'event') {
      this.message.event = value;
    } else if (name === 'id') {
      this.message.id = value;
      this.hasField = true;
    } else if (name === 'retry' && /^\d+$/.test(value)) {
      this.message.retry = Number(value);
      this.hasField = true;
    }
  }
}

/** Reads an event stream body message by message (lines end in CR, LF or CRLF); `onData` hears every chunk, keep-alives too. */
export async function* readSse(body: ReadableStream<Uint8Array>, onData: () => void = () => {}): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  const parser = new SseParser();
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      onData();
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    // The caller stopped early (an error, a revoked stream): let the connection go.
    reader.cancel().catch(() => {});
  }
}
