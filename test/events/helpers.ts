import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import WebSocket from 'ws';
import type { Hub } from '../../src/app/start.ts';
import { compareStreamIds } from '../../src/events/stream-ids.ts';
import { makeClient, relyingParty, type Person } from '../helpers/fixtures.ts';
import { signedInTokens } from '../helpers/oidc.ts';

/** Polls until `check` returns something truthy, or fails after `ms`. Tests never sleep blindly. */
export async function eventually<T>(check: () => T | Promise<T>, ms = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Waits until every event written so far is published and this instance's live reader has read
 * it: a stream opened afterwards starts after them (sign-ins write session.created, for one).
 */
export async function eventsSettled(hub: Hub, ms = 10_000): Promise<void> {
  await eventually(async () => Number((await hub.db('outbox').whereNull('published_at').count('* as n').first())?.n) === 0, ms, 'the relay to catch up');
  const last = await hub.events.bus.lastId();
  await eventually(() => compareStreamIds(hub.events.live.position, last) >= 0, ms, 'the live reader to catch up');
}

export const hubAudience = (hub: Hub) => `${hub.url}/hub`;

/** A person's access token for the hub API, as a device app gets it: code + PKCE with resource=<ISSUER>/hub, scope hub. */
export async function personToken(hub: Hub, person: Person, service: string, scope = 'openid hub'): Promise<string> {
  const client = await makeClient(hub, { service, type: 'native' });
  const rp = await relyingParty(hub, client);
  const tokens = await signedInTokens({ hub, rp, person }, { resource: hubAudience(hub), scope });
  return tokens.access_token;
}

/** A service's own token for the hub API: client credentials, resource=<ISSUER>/hub, scope events (or those given). */
export async function serviceToken(hub: Hub, service: string, scope = 'events'): Promise<string> {
  const client = await makeClient(hub, { service, type: 'web' });
  const rp = await relyingParty(hub, client);
  const tokens = await oidc.clientCredentialsGrant(rp, { resource: hubAudience(hub), scope });
  return tokens.access_token;
}

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** A Server-Sent Events client over fetch that keeps every message it receives. */
export class SseClient {
  readonly messages: SseMessage[] = [];
  status = 0;
  closed = false;
  lastEventId: string | null = null;
  private readonly controller = new AbortController();
  private done: Promise<void> = Promise.resolve();

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: client.controller.signal });
    client.status = response.status;
    if (response.status !== 200) {
      client.closed = true;
      client.errorBody = await response.text();
      return client;
    }
    client.done = client.read(response.body!);
    return client;
  }

  errorBody = '';

  get events(): Array<{ id: string | null; type: string; envelope: Record<string, unknown> & { id: string; type: string; data: Record<string, unknown> } }> {
    return this.messages
      .filter((m) => m.event !== 'ready' && m.event !== 'resync')
      .map((m) => ({ id: m.id, type: m.event, envelope: JSON.parse(m.data) }));
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      const reader = body.getReader();
      for (;;) {
        const { value: chunk, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: SseMessage = { id: null, event: 'message', data: '' };
          let hasData = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') message.id = value;
            else if (field === 'event') message.event = value;
            else if (field === 'data') {
              message.data += (hasData ? '\n' : '') + value;
              hasData = true;
            }
          }
          if (message.id !== null) this.lastEventId = message.id;
          if (hasData) this.messages.push(message);
        }
      }
    } catch {
      // aborted or cut by the server
    } finally {
      this.closed = true;
    }
  }

  waitFor(predicate: (m: SseMessage) => boolean, ms = 10_000, what = 'an SSE message'): Promise<SseMessage> {
    return this.explained(eventually(() => this.messages.find(predicate), ms, what));
  }

  waitForEvent(type: string, where: (data: Record<string, unknown>) => boolean = () => true, ms = 10_000) {
    return this.explained(eventually(() => this.events.find((e) => e.type === type && where(e.envelope.data)), ms, `SSE event ${type}`));
  }

  /** A wait that timed out says whether the stream had ended and what it did receive. */
  private async explained<T>(wait: Promise<T>): Promise<T> {
    try {
      return await wait;
    } catch (error) {
      const received = this.messages.map((m) => `${m.event}${m.id ? ` ${m.id}` : ''}${m.data ? `: ${m.data.slice(0, 100)}` : ''}`);
      throw new Error(`${(error as Error).message}; the stream ${this.closed ? 'had ended' : 'was open'} and had received ${received.length ? received.join(' | ') : 'nothing'}`);
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

/** A WebSocket client of /hub/events that keeps every message. */
export class WsClient {
  readonly messages: Array<{ type: string; stream_id?: string; event?: Record<string, unknown> & { id: string; type: string } }> = [];
  readonly socket: WebSocket;
  closed = false;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => this.messages.push(JSON.parse(String(data))));
    socket.on('close', () => (this.closed = true));
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers });
      socket.once('open', () => resolve(new WsClient(socket)));
      socket.once('unexpected-response', (req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      socket.once('error', reject);
    });
  }

  get events() {
    return this.messages.filter((m) => m.type === 'event');
  }

  get lastStreamId(): string | undefined {
    return this.messages.filter((m) => m.stream_id).at(-1)?.stream_id;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A local webhook receiver. `respond` decides each answer (status, now or later, or 'hang' to never answer). */
export async function webhookReceiver(respond: (request: ReceivedWebhook, index: number) => number | 'hang' | Promise<number> = () => 204) {
  const received: ReceivedWebhook[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      received.push(request);
      const answer = respond(request, received.length - 1);
      if (answer === 'hang') return void hanging.add(res);
      void Promise.resolve(answer).then((status) => res.writeHead(status).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  return {
    url,
    received,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function api(hub: Hub, path: string, token: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const response = await fetch(`${hub.url}${path}`, { ...init, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}
