import type { EventBus, StreamEntry } from './bus.ts';
import { compareStreamIds } from './stream-ids.ts';

/** Who is listening: a person (their own events), or an admin who asked for everything. */
export interface Viewer {
  userId: string;
  all: boolean;
  /** The grant reference of the device app's token (its registered device), when a token let it in. */
  grantRef?: string | null;
  /** The portal's own page, by the browser's session cookie. */
  session?: boolean;
}

/**
 * What let a connection in (a bearer token, or the portal session), read again when it may have
 * ended: at its expiry, and when the person's sessions, password or account change.
 */
export interface LiveAccess {
  /** When it ends, in ms since epoch (null: only events end it). */
  expiresAt: number | null;
  /** Reads it again: when it now ends (ms; null: no expiry), or false when it no longer holds. */
  recheck(): Promise<number | null | false>;
}

export type CloseReason = 'slow' | 'shutdown' | 'gone' | 'revoked';

export type Frame =
  | { kind: 'event'; entry: StreamEntry }
  | { kind: 'ready'; streamId: string }
  | { kind: 'resync'; reason: string }
  | { kind: 'revoked' };

/** How frames reach one client: SSE over an HTTP response, or a WebSocket. */
export interface LiveTransport {
  readonly name: 'sse' | 'websocket' | 'poll';
  send(frame: Frame): void;
  /** Bytes accepted but not yet handed to the kernel. */
  buffered(): number;
  /** Resolves when the client has taken some of what is buffered (or the connection closed). */
  writable(): Promise<void>;
  heartbeat(): void;
  /** `revoked`: the token or session that let it in has ended (expired, signed out, password changed, account disabled). */
  close(reason: CloseReason): void;
}

export interface LiveLimits {
  /** Events waiting for a slow client before it is dropped. */
  maxQueuedEvents: number;
  /** Bytes buffered for a client before we stop writing to it and queue instead. */
  highWaterBytes: number;
  /** A client that takes nothing for this long is dropped. */
  stallMs: number;
  /** Open streams of one person on this instance (LIVE_MAX_PER_PERSON). */
  maxPerPerson: number;
  /** Open streams from one address on this instance (LIVE_MAX_PER_ADDRESS). */
  maxPerAddress: number;
  /** A reconnecting client gets at most this many of the events it missed, the newest (LIVE_REPLAY_MAX_EVENTS). */
  replayMaxEvents: number;
  /** …and only those of the last this many ms (LIVE_REPLAY_MAX_MINUTES). */
  replayWindowMs: number;
}

export const defaultLiveLimits: LiveLimits = {
  maxQueuedEvents: 1000,
  highWaterBytes: 256 * 1024,
  stallMs: 60_000,
  maxPerPerson: 20,
  maxPerAddress: 100,
  replayMaxEvents: 500,
  replayWindowMs: 60 * 60_000,
};

/** One frame object per event, whatever the number of connections it goes to. */
const eventFrames = new WeakMap<StreamEntry, Frame>();

function eventFrame(entry: StreamEntry): Frame {
  let frame = eventFrames.get(entry);
  if (frame === undefined) eventFrames.set(entry, (frame = { kind: 'event', entry }));
  return frame;
}

/**
 * One live client. Its memory is bounded: frames wait in a queue only while the socket is above
 * its high-water mark, and a client whose queue overflows, or that takes nothing for a minute, is
 * dropped (it reconnects with its last id and loses nothing that the stream still holds).
 */
export class LiveConnection {
  readonly viewer: Viewer;
  readonly transport: LiveTransport;
  private readonly limits: LiveLimits;
  private readonly queue: Frame[] = [];
  private readonly pending: StreamEntry[] = [];
  private replaying = false;
  private flushing = false;
  private lastQueued: string | null = null;
  private blockedSince: number | null = null;
  private readonly access: LiveAccess | null;
  private expiryTimer: NodeJS.Timeout | null = null;
  closed = false;
  onClose: (() => void) | null = null;

  constructor(viewer: Viewer, transport: LiveTransport, limits: LiveLimits, access: LiveAccess | null = null) {
    this.viewer = viewer;
    this.transport = transport;
    this.limits = limits;
    this.access = access;
    if (access) this.closeAt(access.expiresAt);
  }

  /** At `at` the access is read again (a session the portal kept alive meanwhile ends later). */
  private closeAt(at: number | null): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    if (at === null || this.closed) return;
    // setTimeout holds at most 2^31-1 ms (24.8 days); a later expiry is looked at again then.
    const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    // A timer set late in a long turn of the event loop fires early by the clock (Node counts from
    // the turn's start): then it is set again for what is left, and the access read once, at `at`.
    this.expiryTimer = setTimeout(() => void (Date.now() < at && delay < 2 ** 31 - 1 ? this.closeAt(at) : this.recheck()), delay);
    this.expiryTimer.unref();
  }

  /** Reads the access again; closes the connection when it no longer holds (or cannot be read: fail closed). */
  async recheck(): Promise<void> {
    if (!this.access || this.closed) return;
    let until: number | null | false;
    try {
      until = await this.access.recheck();
    } catch {
      until = false;
    }
    if (until === false || (until !== null && until <= Date.now())) return this.close('revoked');
    this.closeAt(until);
  }

  wants(entry: StreamEntry): boolean {
    return this.viewer.all || entry.event.user_id === this.viewer.userId;
  }

  /** A live entry from the process's reader. */
  accept(entry: StreamEntry): void {
    if (this.closed || !this.wants(entry)) return;
    if (this.replaying) {
      this.pending.push(entry);
      if (this.pending.length > this.limits.maxQueuedEvents) this.close('slow');
      return;
    }
    this.enqueueEvent(entry);
  }

  private enqueueEvent(entry: StreamEntry): void {
    if (this.lastQueued !== null && compareStreamIds(entry.streamId, this.lastQueued) <= 0) return;
    this.lastQueued = entry.streamId;
    this.enqueue(eventFrame(entry));
  }

  private enqueue(frame: Frame): void {
    if (this.closed) return;
    // Nothing waiting and room in the socket: out now, without the queue and the flush's promise
    // (a broadcast does this once for each of thousands of connections).
    if (!this.flushing && !this.queue.length && this.transport.buffered() < this.limits.highWaterBytes) {
      this.blockedSince = null;
      this.transport.send(frame);
      return;
    }
    this.queue.push(frame);
    if (this.queue.length > this.limits.maxQueuedEvents) return this.close('slow');
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length && !this.closed) {
        if (this.transport.buffered() >= this.limits.highWaterBytes) {
          this.blockedSince ??= Date.now();
          await this.transport.writable();
          continue;
        }
        this.blockedSince = null;
        this.transport.send(this.queue.shift()!);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Starts live delivery now (no position given): tells the client where the stream is. */
  startAt(position: string): void {
    this.lastQueued = position;
    this.enqueue({ kind: 'ready', streamId: position });
  }

  /**
   * Replays what the viewer missed after `since`, then goes live. Bounded: only the stream's
   * last `replayWindowMs` is read, and of the viewer's events there only the newest
   * `replayMaxEvents` are sent; when anything was left out (or the stream no longer holds it), a
   * resync frame comes first so the client reloads its state. The kept events go out at the
   * client's pace. Live entries that arrive meanwhile wait in `pending` and are sent after,
   * without repeats. A position past the stream's end gets a resync and goes on from the end.
   */
  async resumeFrom(bus: EventBus, resumeAt: string, position: () => string, pageSize = 500): Promise<void> {
    this.replaying = true;
    // A position past the stream's end is from a stream that has since gone back (a restored
    // database, a reset Redis): taken as given, every event up to it would be dropped as seen.
    // The client resyncs and goes on from the end.
    const end = await bus.lastId();
    const ahead = compareStreamIds(resumeAt, end) > 0;
    const since = ahead ? end : resumeAt;
    this.lastQueued = since;
    const oldest = `${Math.max(0, Date.now() - this.limits.replayWindowMs)}-0`;
    let after = since;
    let skipped = ahead;
    if (compareStreamIds(since, oldest) < 0) {
      // Older than the window: skip to it, and say so only when the stream has anything in between.
      const probe = await bus.read(since, 1);
      const first = probe.entries[0];
      skipped = probe.gap || (first !== undefined && compareStreamIds(first.streamId, oldest) <= 0);
      after = oldest;
    }
    const kept: StreamEntry[] = [];
    const seen = new Set<string>();
    for (let first = true; !this.closed; first = false) {
      const page = await bus.read(after, pageSize);
      if (first && page.gap) skipped = true;
      for (const entry of page.entries) {
        after = entry.streamId;
        // A relay that crashed between publishing and marking sends an event twice: send it once.
        if (!this.wants(entry) || seen.has(entry.event.id)) continue;
        seen.add(entry.event.id);
        kept.push(entry);
        if (kept.length > this.limits.replayMaxEvents) {
          kept.shift();
          skipped = true;
        }
      }
      if (page.entries.length < pageSize) break;
    }
    if (skipped) this.enqueue({ kind: 'resync', reason: 'Some events after this position are not replayed (too old, or too many); reload your state.' });
    for (const entry of kept) {
      if (this.closed) break;
      this.enqueueEvent(entry);
      while (!this.closed && this.queue.length > this.limits.maxQueuedEvents / 2) await this.transport.writable();
    }
    this.replaying = false;
    for (const entry of this.pending.splice(0)) this.enqueueEvent(entry);
    const now = position();
    const ready = this.lastQueued !== null && compareStreamIds(this.lastQueued, now) > 0 ? this.lastQueued : now;
    this.lastQueued = ready;
    this.enqueue({ kind: 'ready', streamId: ready });
  }

  /** Called by the heartbeat: keeps proxies open, and drops a client that stopped reading. */
  tick(now: number): void {
    if (this.closed) return;
    if (this.blockedSince !== null && now - this.blockedSince > this.limits.stallMs) return this.close('slow');
    if (this.transport.buffered() < this.limits.highWaterBytes) this.transport.heartbeat();
  }

  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.queue.length = 0;
    this.pending.length = 0;
    this.transport.close(reason);
    this.onClose?.();
  }
}
