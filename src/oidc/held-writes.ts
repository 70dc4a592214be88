import type Provider from 'oidc-provider';
import type { SessionSighting } from '../queries/session-sightings.ts';

interface Held {
  /** Sends the writes not sent yet. */
  waiting: Array<() => void>;
  /** Every write held in the request, sent or not, until it is done. */
  done: Array<Promise<unknown>>;
}

/**
 * Writes of a provider request that wait to go with its next one, so that two rows saved one
 * after the other (an authorization code, then the session the provider saves as it answers)
 * share one statement and one commit (ModelWrites' group commit takes what is sent in one turn).
 * The provider is told such a write is done at once; the request's answer waits until it is
 * (`answerAfterHeldWrites`), so nobody outside the hub learns of a row before it is committed.
 */
const heldBy = new WeakMap<object, Held>();

/** Holds `send` until the request's next write, or its end; `send` gives the write's own completion. */
export function holdWrite(request: object, send: () => Promise<unknown>): void {
  let held = heldBy.get(request);
  if (!held) heldBy.set(request, (held = { waiting: [], done: [] }));
  let sent!: (write: Promise<unknown>) => void;
  const done = new Promise<Promise<unknown>>((resolve) => (sent = resolve)).then((write) => write);
  // Awaited in settleHeldWrites; this keeps a failure from counting as unhandled before it is.
  done.catch(() => undefined);
  held.done.push(done);
  held.waiting.push(() => sent(send()));
}

/** Sends what the request holds, in this turn (before the write about to be made). */
export function sendHeldWrites(request: object | undefined): void {
  const held = request && heldBy.get(request);
  if (!held) return;
  for (const send of held.waiting.splice(0)) send();
}

interface HeldSighting {
  sighting: SessionSighting;
  /** Writes it on its own, when the request saved no session to take it. */
  alone(): void;
}

const sightingsBy = new WeakMap<object, HeldSighting>();

/**
 * Holds a sighting of the session the request is about to save (an authorization saves its
 * session as it answers), to go in that save's statement (`takeHeldSighting`). Not taken by the
 * time the request settles, it is written alone then.
 */
export function holdSighting(request: object, sighting: SessionSighting, alone: () => void): void {
  sightingsBy.set(request, { sighting, alone });
}

/** The sighting held for this session of this person, which the caller now writes with the session. */
export function takeHeldSighting(request: object | undefined, sessionUid: unknown, accountId: unknown): SessionSighting | undefined {
  const held = request && sightingsBy.get(request);
  if (!held || held.sighting.uid !== sessionUid || held.sighting.userId !== accountId) return undefined;
  sightingsBy.delete(request);
  return held.sighting;
}

/** Sends what the request holds and waits until every write it held is done; throws the first that failed. */
export async function settleHeldWrites(request: object): Promise<void> {
  const sighting = sightingsBy.get(request);
  if (sighting) {
    sightingsBy.delete(request);
    sighting.alone();
  }
  const held = heldBy.get(request);
  if (!held) return;
  sendHeldWrites(request);
  heldBy.delete(request);
  await Promise.all(held.done);
}

/** The provider answers a request only once the writes it held are committed. */
export function answerAfterHeldWrites(provider: Provider): void {
  provider.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      // A failed write fails the request: its answer (a redirect with a code, say) must not go out.
      await settleHeldWrites(ctx);
    }
  });
}
