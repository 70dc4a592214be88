/**
 * Deadlines that count only the time this process was free to notice an answer.
 *
 * While the event loop is held (a long synchronous step, an overloaded machine), nothing of this
 * process runs: an answer that arrives waits unread in its socket, and when the loop is free again
 * timers run before sockets are read. A plain timer would then call an answered request a
 * timeout, and the request would be sent again. So the deadline moves on by every stall that
 * happened while it waited, up to `maxExtraMs` in all.
 */

const tickMs = 50;
/** Lateness above this is a stall; below it, ordinary timer jitter. */
const stallMs = 20;

/** Milliseconds this process's event loop has been held since the clock started. */
class StallClock {
  private held = 0;
  private expected = Date.now() + tickMs;

  constructor() {
    setInterval(() => {
      this.held += this.pending();
      this.expected = Date.now() + tickMs;
    }, tickMs).unref();
  }

  now(): number {
    return this.held + this.pending();
  }

  /** A stall still under way when another timer asks (timers of one turn run one after another). */
  private pending(): number {
    const late = Date.now() - this.expected;
    return late > stallMs ? late : 0;
  }
}

let clock: StallClock | undefined;

/**
 * Aborts `controller` once `ms` have passed with the event loop free (see above). Returns a
 * function that cancels the deadline: call it once the answer is in.
 */
export function abortAfter(controller: AbortController, ms: number, maxExtraMs: number, reason: () => Error): () => void {
  clock ??= new StallClock();
  const stalls = clock;
  const started = Date.now();
  const stalledBefore = stalls.now();
  let timer = setTimeout(check, ms);

  function check(): void {
    const extra = Math.min(stalls.now() - stalledBefore, maxExtraMs);
    const left = started + ms + extra - Date.now();
    if (left > 0) timer = setTimeout(check, left);
    else controller.abort(reason());
  }

  return () => clearTimeout(timer);
}
