/**
 * Stream ids are Redis Stream ids ("<ms>-<seq>") on both back ends, so a client's Last-Event-ID
 * means the same thing whichever bus the hub runs on, and ids only grow.
 */
export interface StreamId {
  ms: number;
  seq: number;
}

const pattern = /^(\d{1,16})(?:-(\d{1,16}))?$/;

export function parseStreamId(value: string): StreamId | null {
  const match = pattern.exec(value.trim());
  if (!match) return null;
  const ms = Number(match[1]);
  const seq = match[2] === undefined ? 0 : Number(match[2]);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) return null;
  return { ms, seq };
}

export const formatStreamId = (id: StreamId) => `${id.ms}-${id.seq}`;

export const zeroStreamId = '0-0';

/** Negative when a is older than b. Both must be valid ids. */
export function compareStreamIds(a: string, b: string): number {
  const x = parseStreamId(a)!;
  const y = parseStreamId(b)!;
  return x.ms !== y.ms ? x.ms - y.ms : x.seq - y.seq;
}

/** The next id after `last` at time `now`, as Redis assigns them. */
export function nextStreamId(last: StreamId, now: number): StreamId {
  return now > last.ms ? { ms: now, seq: 0 } : { ms: last.ms, seq: last.seq + 1 };
}
