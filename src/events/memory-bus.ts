import type { BusSubscription, EventBus, ReplayPage, StreamEntry } from './bus.ts';
import type { HubEvent } from '../outbox/outbox.ts';
import { compareStreamIds, formatStreamId, nextStreamId, parseStreamId, type StreamId } from './stream-ids.ts';

/**
 * The bus of a single instance without Redis: a ring of the most recent events. Ids are made the
 * way Redis makes them (time-based and increasing), so positions survive a restart as positions:
 * anything older than this process's first id is reported as a gap, never silently skipped.
 */
export class MemoryBus implements EventBus {
  readonly kind = 'memory' as const;
  private readonly capacity: number;
  private readonly ring: StreamEntry[] = [];
  private last: StreamId;
  /** Entries at or before this id are gone (before this process, or evicted from the ring). */
  private floor: string;
  private readonly listeners = new Set<(entries: StreamEntry[]) => void>();

  constructor(capacity: number, now = Date.now()) {
    this.capacity = capacity;
    this.last = { ms: now, seq: 0 };
    this.floor = formatStreamId(this.last);
  }

  async publish(events: HubEvent[]): Promise<string[]> {
    const entries = events.map((event) => {
      this.last = nextStreamId(this.last, Date.now());
      return { streamId: formatStreamId(this.last), event };
    });
    this.ring.push(...entries);
    if (this.ring.length > this.capacity) {
      const evicted = this.ring.splice(0, this.ring.length - this.capacity);
      this.floor = evicted[evicted.length - 1]!.streamId;
    }
    for (const listener of this.listeners) listener(entries);
    return entries.map((e) => e.streamId);
  }

  async read(afterId: string, count: number): Promise<ReplayPage> {
    if (!parseStreamId(afterId)) return { entries: [], gap: true };
    const gap = compareStreamIds(afterId, this.floor) < 0;
    // Binary search for the first entry after afterId.
    let lo = 0;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareStreamIds(this.ring[mid]!.streamId, afterId) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return { entries: this.ring.slice(lo, lo + count), gap };
  }

  async lastId(): Promise<string> {
    return this.ring.length ? this.ring[this.ring.length - 1]!.streamId : this.floor;
  }

  async subscribe(fromId: string, onEntries: (entries: StreamEntry[]) => void): Promise<BusSubscription> {
    if (fromId !== '$') {
      const backlog = await this.read(fromId, this.capacity);
      if (backlog.entries.length) onEntries(backlog.entries);
    }
    this.listeners.add(onEntries);
    return { close: () => void this.listeners.delete(onEntries) };
  }

  async forget(userId: string, keepEventId: string): Promise<number> {
    const before = this.ring.length;
    const kept = this.ring.filter((entry) => entry.event.user_id !== userId || entry.event.id === keepEventId);
    this.ring.length = 0;
    for (const entry of kept) this.ring.push(entry);
    return before - kept.length;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
