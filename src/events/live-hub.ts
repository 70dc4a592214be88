import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { BusSubscription, EventBus, StreamEntry } from './bus.ts';
import { defaultLiveLimits, LiveConnection, type LiveAccess, type LiveLimits, type LiveTransport, type Viewer } from './live-connection.ts';
import { thisInstanceOnly, type LivePresence } from './live-presence.ts';
import type { EventMetrics } from './metrics.ts';
import { zeroStreamId } from './stream-ids.ts';

export interface LiveHubOptions {
  bus: EventBus;
  logger: Logger;
  metrics: EventMetrics;
  limits?: Partial<LiveLimits>;
  heartbeatMs?: number;
  /** Which devices hold a connection on another instance (Redis); this instance's alone without it. */
  presence?: LivePresence;
}

/** The device a connection is of, for presence: its app's grant, or the person's portal; none for an admin's view of everything. */
const presenceKey = (grantRef: string | null): string => (grantRef !== null ? `grant:${grantRef}` : 'portal');
const deviceOf = (viewer: Viewer): string | null => (viewer.all ? null : viewer.grantRef ? presenceKey(viewer.grantRef) : viewer.session ? presenceKey(null) : null);

/**
 * Events after which a person's open streams read their token or session again: every session
 * ended (one, or all: "sign out everywhere", an admin's "end sessions"), a password changed or
 * reset, an account disabled or deleted, a device removed (its grant ended). They travel in the stream every instance reads, so a
 * change made through one instance closes the streams another one serves.
 */
const accessEvents = new Set(['session.revoked', 'user.updated', 'user.deleted', 'device.revoked']);

/** Connections given their heartbeat in one turn of the event loop. */
const heartbeatSlice = 100;

/**
 * Fan-out of the stream to this instance's live connections: one reader per process (not one per
 * connection), each entry handed to the connections of its person and to admins watching everything.
 */
export class LiveHub {
  private readonly options: LiveHubOptions;
  private readonly limits: LiveLimits;
  private readonly byUser = new Map<string, Set<LiveConnection>>();
  private readonly everything = new Set<LiveConnection>();
  private readonly perPerson = new Map<string, number>();
  private readonly perAddress = new Map<string, number>();
  /** Event ids seen lately: a relay that crashed between publishing and marking publishes an event twice. */
  private readonly recent = new Set<string>();
  private subscription: BusSubscription | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private positionId = zeroStreamId;

  constructor(options: LiveHubOptions) {
    this.options = options;
    this.limits = { ...defaultLiveLimits, ...options.limits };
  }

  /** The id of the last entry this instance has read. */
  get position(): string {
    return this.positionId;
  }

  get connectionCount(): number {
    let count = this.everything.size;
    for (const set of this.byUser.values()) count += set.size;
    return count;
  }

  /**
   * Whether a device has a live connection open, on this instance or (with Redis) another: the
   * device app's (by its grant's reference), or, for a browser subscribed from the portal (null),
   * a portal page of the person's.
   */
  async hasConnection(userId: string, grantRef: string | null): Promise<boolean> {
    for (const connection of this.byUser.get(userId) ?? []) {
      if (grantRef !== null ? connection.viewer.grantRef === grantRef : connection.viewer.session === true) return true;
    }
    return (this.options.presence ?? thisInstanceOnly).elsewhere(userId, presenceKey(grantRef));
  }

  async start(): Promise<void> {
    this.positionId = await this.options.bus.lastId();
    this.subscription = await this.options.bus.subscribe(this.positionId, (entries) => this.dispatch(entries));
    this.heartbeat = setInterval(() => this.tick(), this.options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    this.subscription?.close();
    this.subscription = null;
    await this.options.presence?.stop();
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const connection of [...this.everything, ...[...this.byUser.values()].flatMap((s) => [...s])]) connection.close('shutdown');
  }

  private dispatch(entries: StreamEntry[]): void {
    for (const entry of entries) {
      this.positionId = entry.streamId;
      if (this.recent.has(entry.event.id)) continue;
      this.recent.add(entry.event.id);
      if (this.recent.size > 20_000) this.recent.delete(this.recent.values().next().value!);
      const userId = entry.event.user_id;
      try {
        if (userId) for (const connection of this.byUser.get(userId) ?? []) connection.accept(entry);
        for (const connection of this.everything) connection.accept(entry);
      } catch (error) {
        this.options.logger.error({ err: error }, 'live fan-out failed for an event');
      }
      if (userId && accessEvents.has(entry.event.type)) this.recheckPerson(userId);
    }
  }

  /** The person's connections read their access again (after the change is committed: the event comes from the outbox). */
  private recheckPerson(userId: string): void {
    for (const connection of this.byUser.get(userId) ?? []) void connection.recheck();
    for (const connection of this.everything) if (connection.viewer.userId === userId) void connection.recheck();
  }

  /**
   * Heartbeats, a slice of connections at a time with the event loop free between slices: 10,000
   * connections at once held it for 100 ms and more, and every event arriving meanwhile waited; a
   * slice of 100 holds it for a millisecond or two.
   */
  private tick(): void {
    const now = Date.now();
    const all = [...this.everything];
    for (const set of this.byUser.values()) for (const connection of set) all.push(connection);
    const slice = (from: number) => {
      for (const connection of all.slice(from, from + heartbeatSlice)) connection.tick(now);
      if (from + heartbeatSlice < all.length) setImmediate(slice, from + heartbeatSlice);
    };
    slice(0);
  }

  /**
   * Takes a place for one more stream of this person from this address, or refuses (429): a
   * person, or an address, can hold only so many of this instance's connections and their
   * replays. The place is given back by the function returned (once, however often called); a
   * connection made with it gives it back when it closes.
   */
  reserve(userId: string, address: string): () => void {
    const { maxPerPerson, maxPerAddress } = this.limits;
    if ((this.perPerson.get(userId) ?? 0) >= maxPerPerson) {
      throw new AppError('rate_limited', `You have ${maxPerPerson} live streams open already: close one, or try again later.`, { retryAfter: 30 });
    }
    if ((this.perAddress.get(address) ?? 0) >= maxPerAddress) {
      throw new AppError('rate_limited', `Your network has ${maxPerAddress} live streams open already: try again later.`, { retryAfter: 30 });
    }
    const change = (map: Map<string, number>, key: string, by: number) => {
      const next = (map.get(key) ?? 0) + by;
      if (next > 0) map.set(key, next);
      else map.delete(key);
    };
    change(this.perPerson, userId, 1);
    change(this.perAddress, address, 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      change(this.perPerson, userId, -1);
      change(this.perAddress, address, -1);
    };
  }

  /**
   * Serves one client: from `since` (replaying what it missed, at the client's pace) or from now.
   * The connection stays registered until it closes.
   */
  connect(viewer: Viewer, transport: LiveTransport, since: string | null, access: LiveAccess | null = null, release: (() => void) | null = null): LiveConnection {
    const connection = new LiveConnection(viewer, transport, this.limits, access);
    const set = viewer.all ? this.everything : this.byUser.get(viewer.userId) ?? new Set<LiveConnection>();
    if (!viewer.all) this.byUser.set(viewer.userId, set);
    set.add(connection);
    const { metrics } = this.options;
    metrics.liveConnections.inc({ transport: transport.name });
    const device = deviceOf(viewer);
    if (device) this.options.presence?.opened(viewer.userId, device);
    connection.onClose = () => {
      if (device) this.options.presence?.closed(viewer.userId, device);
      set.delete(connection);
      if (!viewer.all && !set.size) this.byUser.delete(viewer.userId);
      metrics.liveConnections.dec({ transport: transport.name });
      release?.();
    };
    if (since === null) connection.startAt(this.positionId);
    else {
      connection.resumeFrom(this.options.bus, since, () => this.positionId).catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'replaying the stream to a live client failed');
        connection.close('gone');
      });
    }
    return connection;
  }
}
