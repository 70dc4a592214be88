import type { HubEvent } from '../outbox/outbox.ts';

/** One event as it sits in the stream: its position there, and the envelope. */
export interface StreamEntry {
  streamId: string;
  event: HubEvent;
}

export interface ReplayPage {
  entries: StreamEntry[];
  /**
   * True when events after the requested position were already dropped from the stream (it is
   * capped) or predate this bus: the reader missed something and should resynchronise.
   */
  gap: boolean;
}

export interface BusSubscription {
  close(): void;
}

/**
 * The event stream every instance reads: a Redis Stream, or an in-process ring when Redis is not
 * configured. Both keep a bounded history so a reader can resume from a position.
 */
export interface EventBus {
  readonly kind: 'redis' | 'memory';
  /** Appends events in order; returns their stream ids. */
  publish(events: HubEvent[]): Promise<string[]>;
  /** Up to `count` entries after `afterId` (exclusive), oldest first. */
  read(afterId: string, count: number): Promise<ReplayPage>;
  /** The id of the newest entry, or 0-0. */
  lastId(): Promise<string>;
  /**
   * Calls `onEntries` for every entry after `fromId` ('$': from now on), in order, until closed.
   * One subscription per process feeds every live connection of that process.
   */
  subscribe(fromId: string, onEntries: (entries: StreamEntry[]) => void): Promise<BusSubscription>;
  /**
   * Erasure: removes every entry about this person but the one with `keepEventId` (their
   * user.deleted, which services must still read). Returns how many went. A reader that resumes
   * from before a removed Redis entry is told of a gap (it resyncs), as for entries trimmed away.
   */
  forget(userId: string, keepEventId: string): Promise<number>;
  /** Answers when the bus's store does (readiness); the in-process bus always does. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
