import http from 'node:http';
import https from 'node:https';
import { Transform, pipeline, type Readable } from 'node:stream';

/** too_large and invalid_request are the caller's doing (a body past the limit, a header Node will not send), not the upstream's. */
export type UpstreamFailureKind = 'unreachable' | 'timeout' | 'too_large' | 'invalid_request';

export class UpstreamFailure extends Error {
  override name = 'UpstreamFailure';
  readonly kind: UpstreamFailureKind;
  constructor(kind: UpstreamFailureKind, message: string, cause?: unknown) {
    super(message, { cause });
    this.kind = kind;
  }
}

export interface UpstreamLimits {
  connectTimeoutMs: number;
  /** The whole exchange, the answer's body included. */
  timeoutMs: number;
  bodyLimitBytes: number;
}

export interface UpstreamCall {
  url: URL;
  method: string;
  headers: http.OutgoingHttpHeaders;
  /** The caller's body, streamed as it comes; null: none. */
  body: Readable | null;
}

/** Counts a body's bytes as they pass, and fails it past `limit`. */
function bodyLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) return done(new UpstreamFailure('too_large', `the request body is larger than ${limit} bytes`));
      done(null, chunk);
    },
  });
}

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/**
 * Sends a request upstream, streaming the caller's body, and resolves with the answer once its
 * headers arrive (its body streams after). Connecting longer than connectTimeoutMs, or the whole
 * exchange, body in and body out, longer than timeoutMs, ends it; a body past bodyLimitBytes too.
 * Rejects with UpstreamFailure; after the answer has begun, a timeout destroys the answer's stream.
 */
export function callUpstream(call: UpstreamCall, limits: UpstreamLimits): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = call.url.protocol === 'https:';
    let request: http.ClientRequest;
    try {
      request = (secure ? https : http).request(call.url, { method: call.method, headers: call.headers, agent: secure ? agents.https : agents.http });
    } catch (error) {
      // Node checks the method and headers before it sends anything: what it refuses came from the caller.
      return reject(new UpstreamFailure('invalid_request', `the request cannot be forwarded (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, error));
    }
    let answer: http.IncomingMessage | null = null;
    let settled = false;
    const fail = (error: UpstreamFailure) => {
      clearTimeout(total);
      if (answer) answer.destroy(error);
      request.destroy(error);
      if (!settled) {
        settled = true;
        reject(error);
      }
    };
    const total = setTimeout(() => fail(new UpstreamFailure('timeout', `the upstream did not answer within ${limits.timeoutMs} ms`)), limits.timeoutMs);
    request.on('socket', (socket) => {
      if (!socket.connecting) return;
      const connect = setTimeout(() => fail(new UpstreamFailure('timeout', `could not connect to the upstream within ${limits.connectTimeoutMs} ms`)), limits.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(connect));
      socket.once('close', () => clearTimeout(connect));
    });
    request.on('error', (error) => fail(error instanceof UpstreamFailure ? error : new UpstreamFailure('unreachable', `the upstream is unreachable (${(error as NodeJS.ErrnoException).code ?? error.message})`, error)));
    request.on('response', (response) => {
      answer = response;
      response.once('close', () => clearTimeout(total));
      if (!settled) {
        settled = true;
        resolve(response);
      }
    });
    if (!call.body) return void request.end();
    pipeline(call.body, bodyLimit(limits.bodyLimitBytes), request, (error) => {
      if (error) fail(error instanceof UpstreamFailure ? error : new UpstreamFailure('unreachable', 'the request body could not be sent upstream', error));
    });
  });
}
