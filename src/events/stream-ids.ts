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

/**
 * The last two ids parsed: a live event is compared with the position of every connection it goes
 * to, and those are nearly all the same two ids (the event's, and the one before it).
 */
const recent: Array<{ text: string; id: StreamId | null }> = [
  { text: '', id: null },
  { text: '', id: null },
];
let next = 0;

function parseRecent(value: string): StreamId | null {
  if (recent[0]!.text === value) return recent[0]!.id;
  if (recent[1]!.text === value) return recent[1]!.id;
  const id = parseStreamId(value);
  recent[next] = { text: value, id };
  next ^= 1;
  return id;
}

/** Negative when a is older than b. Both must be valid ids. */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  const x = parseRecent(a)!;
  const y = parseRecent(b)!;
  return x.ms !== y.ms ? x.ms - y.ms : x.seq - y.seq;
}

/** The next id after `last` at time `now`, as Redis assigns them. */
export function nextStreamId(last: StreamId, now: number): StreamId {
  return now > last.ms ? { ms: now, seq: 0 } : { ms: last.ms, seq: last.seq + 1 };
}
