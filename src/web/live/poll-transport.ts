import type { StreamEntry } from '../../events/bus.ts';
import type { CloseReason, Frame, LiveTransport } from '../../events/live-connection.ts';

export interface PollOutcome {
  entries: StreamEntry[];
  /** Where the next poll resumes: the last event sent, or the stream's position. */
  next: string | null;
  resync: boolean;
  /** Why it ended early: the access ended ('revoked'), the hub is stopping, the client left. */
  ended: CloseReason | null;
}

/** Events that arrive together (one transaction's) go in one answer: wait this long after the first. */
const gatherMs = 50;

/**
 * A live connection that answers once: the events after `since` (the replay), or else the first
 * ones that arrive within `waitMs`, then it is done. The same LiveConnection serves it as SSE and
 * WebSocket clients, so a poll keeps their resume, replay-bound and privacy rules exactly.
 */
export function pollTransport(waitMs: number): { transport: LiveTransport; outcome: Promise<PollOutcome> } {
  const entries: StreamEntry[] = [];
  let next: string | null = null;
  let resync = false;
  let ready = false;
  let settle!: (outcome: PollOutcome) => void;
  const outcome = new Promise<PollOutcome>((resolve) => (settle = resolve));
  let done = false;
  let gather: NodeJS.Timeout | null = null;
  let timeout: NodeJS.Timeout | null = null;
  const finish = (ended: CloseReason | null) => {
    if (done) return;
    done = true;
    if (timeout) clearTimeout(timeout);
    if (gather) clearTimeout(gather);
    settle({ entries, next, resync, ended });
  };
  const soon = () => {
    if (!ready) return;
    if (entries.length || resync) gather ??= setTimeout(() => finish(null), gatherMs);
    // The wait starts once the replay is done (ready): what was missed is always answered.
    else timeout ??= setTimeout(() => finish(null), waitMs);
  };
  const transport: LiveTransport = {
    name: 'poll',
    send(frame: Frame) {
      if (done) return;
      if (frame.kind === 'event') {
        entries.push(frame.entry);
        next = frame.entry.streamId;
      } else if (frame.kind === 'ready') {
        ready = true;
        next = frame.streamId;
      } else if (frame.kind === 'resync') resync = true;
      soon();
    },
    buffered: () => 0,
    writable: () => Promise.resolve(),
    heartbeat() {},
    close(reason) {
      finish(reason);
    },
  };
  return { transport, outcome };
}
