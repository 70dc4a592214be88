/**
 * Group commit: writes that callers submit while earlier ones are still on their way to the
 * database go together, as one statement and one commit; each caller still waits for its own
 * write to be committed, so nothing is acknowledged before it is durable. With nothing in flight
 * a write goes at once (on the next turn of the event loop, with whatever else came in that
 * turn), so a quiet hub waits for nothing; under load, N writes cost one round trip, one fsync and
 * one statement to plan instead of N.
 *
 * A failed batch is retried one write at a time (unless `retryAlone` is off), so a write that
 * cannot be made fails only its own caller.
 */
export interface GroupCommitOptions<Item, Result> {
  /** Writes every item in one statement; the results in the items' order. */
  write(items: Item[]): Promise<Result[]>;
  /** Items with the same key never go in one statement (an upsert cannot touch a row twice). */
  keyOf?(item: Item): string;
  /** Batches on their way at once (each holds a database connection while it is). */
  maxInFlight?: number;
  maxBatch?: number;
  /**
   * Off for writes that must not be sent twice: a batch whose connection broke may have been
   * committed, and a retried conditional update would then find its rows already changed.
   */
  retryAlone?: boolean;
}

interface Pending<Item, Result> {
  item: Item;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

export class GroupCommit<Item, Result> {
  private readonly options: Required<Omit<GroupCommitOptions<Item, Result>, 'keyOf'>> & Pick<GroupCommitOptions<Item, Result>, 'keyOf'>;
  private queue: Pending<Item, Result>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(options: GroupCommitOptions<Item, Result>) {
    this.options = { maxInFlight: 2, maxBatch: 200, retryAlone: true, ...options };
  }

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) this.send(this.take());
    });
  }

  /** The next batch, in submission order; an item whose key is already in it waits for a later one. */
  private take(): Pending<Item, Result>[] {
    const { keyOf, maxBatch } = this.options;
    if (!keyOf) return this.queue.splice(0, maxBatch);
    const batch: Pending<Item, Result>[] = [];
    const rest: Pending<Item, Result>[] = [];
    const keys = new Set<string>();
    for (const pending of this.queue) {
      const key = keyOf(pending.item);
      if (batch.length >= maxBatch || keys.has(key)) rest.push(pending);
      else {
        keys.add(key);
        batch.push(pending);
      }
    }
    this.queue = rest;
    return batch;
  }

  private send(batch: Pending<Item, Result>[]): void {
    this.inFlight++;
    void this.commit(batch).finally(() => {
      this.inFlight--;
      this.schedule();
    });
  }

  private async commit(batch: Pending<Item, Result>[]): Promise<void> {
    try {
      const results = await this.options.write(batch.map((pending) => pending.item));
      batch.forEach((pending, index) => pending.resolve(results[index]!));
    } catch (error) {
      if (batch.length === 1 || !this.options.retryAlone) return batch.forEach((pending) => pending.reject(error));
      for (const pending of batch) await this.commit([pending]);
    }
  }
}
